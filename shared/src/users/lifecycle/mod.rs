//! An account's life beyond sign-up: made by staff with a one-time set-password link
//! ([`accounts`]), deleted (refused while it has live work), restored, listed once
//! deleted ([`removal`]), and purged ([`purge()`]).

mod accounts;
mod purge;
mod removal;

pub(crate) use self::accounts::{email_taken, open_account, CheckedAccount, EMAIL_KEY};
pub(in crate::users) use self::removal::check_deletable;
pub(crate) use self::removal::restore_in;
pub use self::{
    accounts::{
        create_by_staff, may_create, set_password, wrong_password, CreatedAccount, NewAccount,
        SetPassword, SET_PASSWORD_TTL,
    },
    purge::{purge, PurgeRequest, Purged},
    removal::{list_deleted, restore, DeletedUser},
};
