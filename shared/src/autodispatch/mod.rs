//! Auto-dispatch: each order that needs a driver is offered to the best driver for it,
//! with a deadline, and on to the next when the driver declines or lets it lapse.
//!
//! - [`settings`]: what it does per order type (on or off, the time to accept, the
//!   catering horizon, attempts before escalating, orders carried at once), as data.
//! - [`candidates`]: who may take an order now, ranked by the drive time it adds to the
//!   route each already drives (the routing core's insertion).
//! - [`expiry`]: each offer's deadline as a message delayed until it, which the
//!   `dispatch-offer-expire` function receives.
//! - [`offers`]: offering an order to its best driver, or escalating it to staff.
//! - [`answers`]: accepting (through the one dispatch path), declining, expiring.
//! - [`views`]: the driver's pending offer, and every offer for staff.
//! - [`sweep`]: the minute's safety net of all of it, and the escalations' alerts.
//! - [`statistics`]: acceptance, offers per order and time to assignment over a window.
//!
//! An order is offered when it becomes dispatchable: an on-demand order when it is
//! placed, a catering order once its pickup is within the horizon (the sweep finds it),
//! and after each decline or expiry. A dispatcher may assign any order by hand at any
//! time; that withdraws its pending offer.

pub mod answers;
pub mod candidates;
pub mod expiry;
pub mod offers;
pub mod settings;
pub mod statistics;
pub mod sweep;
pub mod views;
