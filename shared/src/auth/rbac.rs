//! Roles, permissions, and the one table that says which role may do what.
//!
//! Handlers never compare roles themselves: they ask [`Caller::require`] for a
//! [`Permission`]. Which *objects* a caller may touch is decided in SQL (`WHERE user_id =
//! $caller`), so a missing ownership check shows up as "not found", never as data.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// Account roles, spelled as existing clients send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Client,
    Vendor,
    Driver,
    Helpdesk,
    Admin,
    SuperAdmin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Client,
        Role::Vendor,
        Role::Driver,
        Role::Helpdesk,
        Role::Admin,
        Role::SuperAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "CLIENT",
            Role::Vendor => "VENDOR",
            Role::Driver => "DRIVER",
            Role::Helpdesk => "HELPDESK",
            Role::Admin => "ADMIN",
            Role::SuperAdmin => "SUPER_ADMIN",
        }
    }

    /// Roles anyone may sign up for; staff roles are granted by admins.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Client | Role::Vendor | Role::Driver)
    }

    /// Staff roles, which reach the admin routes.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Helpdesk | Role::Admin | Role::SuperAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// Account status, spelled as existing clients send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Pending,
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Pending => "PENDING",
            UserStatus::Deleted => "DELETED",
        }
    }
}

impl FromStr for UserStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ACTIVE" => Ok(UserStatus::Active),
            "PENDING" => Ok(UserStatus::Pending),
            "DELETED" => Ok(UserStatus::Deleted),
            other => Err(format!("unknown status {other:?}")),
        }
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
    /// Edit any user's profile and status.
    UpdateUsers,
    /// Soft-delete users.
    DeleteUsers,
    /// Change a user's role (to or from SUPER_ADMIN needs SUPER_ADMIN as well).
    ChangeRoles,
    /// Keep an address book and use its addresses.
    OwnAddresses,
    /// Place catering and on-demand orders.
    CreateOrders,
    /// See orders: one's own, those assigned to one, or (staff) all. Scoped in SQL.
    ViewOrders,
    /// Move any order through its statuses, edit and delete any order.
    ManageOrders,
    /// The vendor order views.
    ViewVendorOrders,
    /// Price a delivery with a configuration.
    QuotePrices,
    /// Publish new versions of pricing configurations.
    ManagePricing,
    /// See partner webhook deliveries and re-queue dead ones.
    ManageWebhooks,
}

use Role::{Admin, Client, Driver, Helpdesk, SuperAdmin, Vendor};

/// The RBAC table: each permission and the roles that hold it.
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (
        Permission::OwnAccount,
        &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin],
    ),
    (Permission::ListUsers, &[Helpdesk, Admin, SuperAdmin]),
    (Permission::ViewUsers, &[Helpdesk, Admin, SuperAdmin]),
    (Permission::UpdateUsers, &[Helpdesk, Admin, SuperAdmin]),
    (Permission::DeleteUsers, &[Admin, SuperAdmin]),
    (Permission::ChangeRoles, &[Admin, SuperAdmin]),
    (
        Permission::OwnAddresses,
        &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin],
    ),
    (
        Permission::CreateOrders,
        &[Client, Vendor, Helpdesk, Admin, SuperAdmin],
    ),
    (
        Permission::ViewOrders,
        &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin],
    ),
    (Permission::ManageOrders, &[Helpdesk, Admin, SuperAdmin]),
    (
        Permission::ViewVendorOrders,
        &[Vendor, Helpdesk, Admin, SuperAdmin],
    ),
    (
        Permission::QuotePrices,
        &[Client, Vendor, Driver, Helpdesk, Admin, SuperAdmin],
    ),
    (Permission::ManagePricing, &[Admin, SuperAdmin]),
    (Permission::ManageWebhooks, &[Admin, SuperAdmin]),
];

pub fn allows(role: Role, permission: Permission) -> bool {
    PERMISSIONS
        .iter()
        .any(|(p, roles)| *p == permission && roles.contains(&role))
}

/// Whether `actor` may modify an account that has role `target`: nobody below
/// SUPER_ADMIN touches a SUPER_ADMIN, and HELPDESK touches no staff account.
pub fn may_manage(actor: Role, target: Role) -> bool {
    match target {
        SuperAdmin => actor == SuperAdmin,
        Admin | Helpdesk => matches!(actor, Admin | SuperAdmin),
        Client | Vendor | Driver => actor.is_staff(),
    }
}

/// Whether `actor` may move an account from role `from` to role `to`.
pub fn may_change_role(actor: Role, from: Role, to: Role) -> bool {
    if !allows(actor, Permission::ChangeRoles) {
        return false;
    }
    if from == SuperAdmin || to == SuperAdmin {
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
    fn super_admin_role_changes_need_super_admin() {
        assert!(!may_change_role(Admin, Client, SuperAdmin));
        assert!(!may_change_role(Admin, SuperAdmin, Client));
        assert!(may_change_role(SuperAdmin, Client, SuperAdmin));
        assert!(may_change_role(SuperAdmin, SuperAdmin, Admin));
        assert!(may_change_role(Admin, Client, Vendor));
        assert!(!may_change_role(Helpdesk, Client, Vendor));
        assert!(!may_change_role(Client, Client, Vendor));
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
