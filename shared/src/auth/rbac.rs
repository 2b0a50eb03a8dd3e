//! Roles, permissions, and the one table that says which role may do what.
//!
//! Handlers never compare roles themselves: they ask [`Caller::require`] for a
//! [`Permission`]. Which *objects* a caller may touch is decided in SQL (`WHERE user_id =
//! $caller`), so a missing ownership check shows up as "not found", never as data.

use crate::{
    error::{ApiError, ApiResult},
    text_enum::text_enum,
};

text_enum! {
    /// Account roles, spelled as existing clients send them.
    pub enum Role("role") {
        Client = "CLIENT",
        Vendor = "VENDOR",
        Driver = "DRIVER",
        Helpdesk = "HELPDESK",
        Admin = "ADMIN",
        SuperAdmin = "SUPER_ADMIN",
    }
}

impl Role {
    /// Roles anyone may sign up for; staff roles are granted by a SUPER_ADMIN.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Client | Role::Vendor | Role::Driver)
    }

    /// Staff roles, which reach the admin routes.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Helpdesk | Role::Admin | Role::SuperAdmin)
    }
}

text_enum! {
    /// Account status, spelled as existing clients send it.
    pub enum UserStatus("account status") {
        Active = "ACTIVE",
        Pending = "PENDING",
        Deleted = "DELETED",
    }
}

/// Something a caller may be allowed to do. Each has a row in [`PERMISSIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read and edit one's own account.
    OwnAccount,
    /// List and search all users (admin panel).
    ListUsers,
    /// Read any user's profile.
    ViewUsers,
    /// Edit any user's profile and status (within [`may_manage`]).
    UpdateUsers,
    /// Soft-delete users (within [`may_manage`]).
    DeleteUsers,
    /// Change a user's role (staff roles need SUPER_ADMIN as well, see [`may_change_role`]).
    ChangeRoles,
    /// Create accounts (staff roles need SUPER_ADMIN as well, see `users::lifecycle::may_create`).
    CreateUsers,
    /// Bring soft-deleted accounts back (within [`may_manage`]).
    RestoreUsers,
    /// Remove a soft-deleted account's personal data for good.
    PurgeUsers,
    /// Read an account's audit history.
    ViewAudits,
    /// List driver applications and move them on (approving one also needs
    /// [`Permission::CreateUsers`]: it opens an account).
    ReviewApplications,

    /// Keep an address book and use its addresses.
    OwnAddresses,
    /// Mark addresses shared (partner restaurants), whichever route stores them.
    ShareAddresses,
    /// See and edit any address, not only one's own.
    ManageAllAddresses,
    /// Place catering and on-demand orders.
    CreateOrders,
    /// Record an order whose pickup already happened.
    BackdateOrders,
    /// See orders: those one placed or is dispatched to, or all. Scoped in SQL.
    ViewOrders,
    /// See every order, not only one's own.
    ViewAllOrders,
    /// Move any order through its statuses and edit any order until it is closed.
    ManageOrders,
    /// Delete (cancel and hide) any order, not only one's own before it is underway.
    DeleteOrders,
    /// The vendor order views.
    ViewVendorOrders,
    /// The vendor order views of any vendor, not only one's own.
    ViewAnyVendorOrders,
    /// Price a delivery with the default configuration.
    QuotePrices,
    /// Price a delivery with any configuration, and read the configurations.
    ViewPricing,
    /// Publish new versions of pricing configurations.
    ManagePricing,
    /// See partner webhook deliveries and re-queue dead ones.
    ManageWebhooks,
    /// See the health of every dependency, not only whether the API is up.
    ViewSystemHealth,
    /// Resolve alerts by hand.
    ResolveAlerts,
    /// Remove any file one may see, not only those one uploaded.
    ManageFiles,
    /// Work shifts, report locations and progress on one's own deliveries (drivers).
    Drive,
    /// See every driver, their shifts, tracks and statistics.
    ViewDrivers,
    /// Assign and reassign drivers to orders.
    DispatchDrivers,
    /// Planned working windows: a driver its own, staff who dispatch anyone's.
    PlanAvailability,
    /// On-time analytics of deliveries: a client or vendor of the orders it placed, staff
    /// of every order (with [`Permission::ViewAllOrders`]).
    ViewDeliveryAnalytics,
}

use Role::{Admin, Client, Driver, Helpdesk, SuperAdmin, Vendor};

const EVERYONE: &[Role] = &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin];
const STAFF: &[Role] = &[Helpdesk, Admin, SuperAdmin];
const ADMINS: &[Role] = &[Admin, SuperAdmin];

/// The RBAC table: each permission and the roles that hold it.
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (Permission::OwnAccount, EVERYONE),
    (Permission::ListUsers, STAFF),
    (Permission::ViewUsers, STAFF),
    (Permission::UpdateUsers, STAFF),
    (Permission::DeleteUsers, ADMINS),
    (Permission::ChangeRoles, ADMINS),
    (Permission::CreateUsers, ADMINS),
    (Permission::RestoreUsers, ADMINS),
    (Permission::PurgeUsers, &[SuperAdmin]),
    (Permission::ViewAudits, STAFF),
    (Permission::ReviewApplications, STAFF),
    (Permission::OwnAddresses, EVERYONE),
    (Permission::ShareAddresses, STAFF),
    (Permission::ManageAllAddresses, STAFF),
    (
        Permission::CreateOrders,
        &[Client, Vendor, Helpdesk, Admin, SuperAdmin],
    ),
    (Permission::BackdateOrders, STAFF),
    (Permission::ViewOrders, EVERYONE),
    (Permission::ViewAllOrders, STAFF),
    (Permission::ManageOrders, STAFF),
    (Permission::DeleteOrders, ADMINS),
    (
        Permission::ViewVendorOrders,
        &[Vendor, Helpdesk, Admin, SuperAdmin],
    ),
    (Permission::ViewAnyVendorOrders, STAFF),
    (Permission::QuotePrices, EVERYONE),
    (Permission::ViewPricing, STAFF),
    (Permission::ManagePricing, ADMINS),
    (Permission::ManageWebhooks, ADMINS),
    (Permission::ViewSystemHealth, STAFF),
    (Permission::ResolveAlerts, STAFF),
    (Permission::ManageFiles, STAFF),
    (Permission::Drive, &[Driver]),
    (Permission::ViewDrivers, STAFF),
    (Permission::DispatchDrivers, STAFF),
    (
        Permission::PlanAvailability,
        &[Driver, Helpdesk, Admin, SuperAdmin],
    ),
    (
        Permission::ViewDeliveryAnalytics,
        &[Client, Vendor, Helpdesk, Admin, SuperAdmin],
    ),
];

pub fn allows(role: Role, permission: Permission) -> bool {
    PERMISSIONS
        .iter()
        .any(|(p, roles)| *p == permission && roles.contains(&role))
}

/// Whether `actor` may edit, suspend or delete an account that has role `target`: staff
/// accounts only a SUPER_ADMIN touches; other accounts any staff member (within the
/// permission of the action).
pub fn may_manage(actor: Role, target: Role) -> bool {
    if target.is_staff() {
        actor == SuperAdmin
    } else {
        actor.is_staff()
    }
}

/// Whether `actor` may move an account from role `from` to role `to`: only a SUPER_ADMIN
/// grants, changes or removes the ADMIN, HELPDESK and SUPER_ADMIN roles.
pub fn may_change_role(actor: Role, from: Role, to: Role) -> bool {
    if !allows(actor, Permission::ChangeRoles) {
        return false;
    }
    if from.is_staff() || to.is_staff() {
        return actor == SuperAdmin;
    }
    may_manage(actor, from)
}

/// The authenticated caller, as the authorizer vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: uuid::Uuid,
    pub role: Role,
    pub session_id: uuid::Uuid,
}

impl Caller {
    /// 403 unless the caller's role holds `permission`.
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        if allows(self.role, permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden("your role does not allow this action"))
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        allows(self.role, permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_one_row() {
        for (i, (p, _)) in PERMISSIONS.iter().enumerate() {
            assert!(
                PERMISSIONS[i + 1..].iter().all(|(q, _)| q != p),
                "{p:?} appears twice"
            );
        }
    }

    #[test]
    fn admin_panel_is_staff_only() {
        for role in Role::ALL {
            assert_eq!(
                allows(role, Permission::ListUsers),
                role.is_staff(),
                "{role}"
            );
        }
    }

    #[test]
    fn only_super_admins_grant_or_remove_staff_roles() {
        for staff in [Helpdesk, Admin, SuperAdmin] {
            assert!(!may_change_role(Admin, Client, staff), "grant {staff}");
            assert!(!may_change_role(Admin, staff, Client), "remove {staff}");
            assert!(may_change_role(SuperAdmin, Client, staff), "grant {staff}");
            assert!(may_change_role(SuperAdmin, staff, Vendor), "remove {staff}");
            assert!(!may_manage(Admin, staff), "manage {staff}");
        }
        assert!(may_change_role(Admin, Client, Vendor));
        assert!(may_change_role(Admin, Vendor, Driver));
        assert!(!may_change_role(Helpdesk, Client, Vendor));
        assert!(!may_change_role(Client, Client, Vendor));
        assert!(may_manage(Helpdesk, Client));
        assert!(!may_manage(Client, Client));
    }

    #[test]
    fn roles_round_trip_their_spelling() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_value(role).expect("json"), role.as_str());
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
