//! Who may see a file, as one SQL condition over `f` (a `file_uploads` row), so every
//! read, list and removal is filtered by the database: its uploader; whoever may see the
//! order it belongs to (the order's owner, its assigned driver, staff); the account it
//! belongs to, and staff for any account and any job application. Status and deletion are each query's own.

use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, Param},
    orders::Scope,
};

#[derive(Debug, Clone, Copy)]
pub(crate) struct FileAccess {
    orders: Scope,
    any_account: bool,
}

impl FileAccess {
    pub(crate) fn of(caller: &Caller) -> Self {
        Self {
            orders: Scope::of(caller),
            any_account: caller.can(Permission::ViewUsers),
        }
    }

    /// The condition, with its four parameters at `$n` to `$n+3` (bind them with
    /// [`FileAccess::params`]).
    pub(crate) fn sql(&self, n: usize) -> String {
        let user = n + 2;
        let any_account = n + 3;
        format!(
            "(f.user_id = ${user}
              OR (f.entity_type = 'order' AND EXISTS (
                    SELECT 1 FROM orders o
                     WHERE o.id = f.entity_id AND o.deleted_at IS NULL AND {orders}))
              OR (f.entity_type = 'user' AND (f.entity_id = ${user} OR ${any_account}))
              OR (f.entity_type = 'job_application' AND ${any_account}))",
            orders = self.orders.sql(n),
        )
    }

    /// The parameters of [`FileAccess::sql`], in order.
    pub(crate) fn params(&self) -> [Param<'_>; 4] {
        let [all, dispatched, user] = self.orders.params();
        [all, dispatched, user, p(&self.any_account)]
    }
}
