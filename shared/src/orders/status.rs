//! The two status graphs of an order and how one drives the other.
//!
//! Order status (catering and on-demand alike):
//! `PENDING → CONFIRMED | ACTIVE | ASSIGNED | CANCELLED`, `CONFIRMED → ACTIVE | ASSIGNED |
//! CANCELLED`, `ACTIVE → ASSIGNED | CANCELLED`, `ASSIGNED → IN_PROGRESS | CANCELLED`,
//! `IN_PROGRESS → DELIVERED | COMPLETED | CANCELLED`, `DELIVERED → COMPLETED`;
//! `COMPLETED` and `CANCELLED` are terminal.
//!
//! Driver status: `ASSIGNED → EN_ROUTE_TO_VENDOR → ARRIVED_AT_VENDOR → PICKED_UP →
//! EN_ROUTE_TO_CLIENT → ARRIVED_TO_CLIENT → COMPLETED`, moving forward only, steps may be
//! skipped. Any driver status from `EN_ROUTE_TO_VENDOR` to `ARRIVED_TO_CLIENT` puts the
//! order `IN_PROGRESS`; `COMPLETED` completes it.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Active,
    Assigned,
    InProgress,
    Delivered,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Pending,
        OrderStatus::Confirmed,
        OrderStatus::Active,
        OrderStatus::Assigned,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Active => "ACTIVE",
            OrderStatus::Assigned => "ASSIGNED",
            OrderStatus::InProgress => "IN_PROGRESS",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    /// Terminal orders accept neither transitions nor field edits.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }

    /// The statuses this one may move to.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Pending => &[Confirmed, Active, Assigned, Cancelled],
            Confirmed => &[Active, Assigned, Cancelled],
            Active => &[Assigned, Cancelled],
            Assigned => &[InProgress, Cancelled],
            InProgress => &[Delivered, Completed, Cancelled],
            Delivered => &[Completed],
            Completed | Cancelled => &[],
        }
    }

    pub fn can_become(self, to: OrderStatus) -> bool {
        self.next().contains(&to)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DriverStatus {
    Assigned,
    EnRouteToVendor,
    ArrivedAtVendor,
    PickedUp,
    EnRouteToClient,
    ArrivedToClient,
    Completed,
}

impl DriverStatus {
    pub const ALL: [DriverStatus; 7] = [
        DriverStatus::Assigned,
        DriverStatus::EnRouteToVendor,
        DriverStatus::ArrivedAtVendor,
        DriverStatus::PickedUp,
        DriverStatus::EnRouteToClient,
        DriverStatus::ArrivedToClient,
        DriverStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DriverStatus::Assigned => "ASSIGNED",
            DriverStatus::EnRouteToVendor => "EN_ROUTE_TO_VENDOR",
            DriverStatus::ArrivedAtVendor => "ARRIVED_AT_VENDOR",
            DriverStatus::PickedUp => "PICKED_UP",
            DriverStatus::EnRouteToClient => "EN_ROUTE_TO_CLIENT",
            DriverStatus::ArrivedToClient => "ARRIVED_TO_CLIENT",
            DriverStatus::Completed => "COMPLETED",
        }
    }

    /// Forward only; skipping steps is allowed. A first driver status must be ASSIGNED.
    pub fn can_follow(from: Option<DriverStatus>, to: DriverStatus) -> bool {
        match from {
            None => to == DriverStatus::Assigned,
            Some(from) => to > from,
        }
    }

    /// The order status this driver status implies, if it implies one.
    pub fn implied_order_status(self) -> Option<OrderStatus> {
        match self {
            DriverStatus::Assigned => Some(OrderStatus::Assigned),
            DriverStatus::Completed => Some(OrderStatus::Completed),
            _ => Some(OrderStatus::InProgress),
        }
    }
}

/// The lifecycle status partners are told about (ASSIGNED, PICKED_UP, ON_THE_WAY, ARRIVED,
/// DELIVERED, CANCELLED), or `None` before a driver is involved. An order moved forward
/// by staff without driver updates maps by its own status (IN_PROGRESS is ON_THE_WAY).
pub fn partner_lifecycle(order: OrderStatus, driver: Option<DriverStatus>) -> Option<&'static str> {
    use DriverStatus as D;
    Some(match (order, driver) {
        (OrderStatus::Cancelled, _) => "CANCELLED",
        (OrderStatus::Completed | OrderStatus::Delivered, _) | (_, Some(D::Completed)) => {
            "DELIVERED"
        }
        (_, Some(D::ArrivedToClient)) => "ARRIVED",
        (_, Some(D::EnRouteToClient)) => "ON_THE_WAY",
        (_, Some(D::PickedUp)) => "PICKED_UP",
        (_, Some(D::Assigned | D::EnRouteToVendor | D::ArrivedAtVendor))
        | (OrderStatus::Assigned, None) => "ASSIGNED",
        (OrderStatus::InProgress, None) => "ON_THE_WAY",
        (OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active, None) => return None,
    })
}

/// CaterValley's legacy status call value (CONFIRM, READY, ON_THE_WAY, COMPLETED,
/// CANCELLED), or `None` for states it has no word for.
pub fn catervalley_status(
    order: OrderStatus,
    driver: Option<DriverStatus>,
) -> Option<&'static str> {
    if order == OrderStatus::Confirmed {
        return Some("CONFIRM");
    }
    match partner_lifecycle(order, driver)? {
        "PICKED_UP" => Some("READY"),
        "ON_THE_WAY" | "ARRIVED" => Some("ON_THE_WAY"),
        "DELIVERED" => Some("COMPLETED"),
        "CANCELLED" => Some("CANCELLED"),
        _ => None,
    }
}

macro_rules! text_enum {
    ($name:ident, $what:literal) => {
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} {s:?}", $what))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(OrderStatus, "order status");
text_enum!(DriverStatus, "driver status");

/// A requested change of either or both statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub order: OrderStatus,
    pub driver: Option<DriverStatus>,
}

/// Why a transition was refused; names both statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move the order from {from_order}{} to {to_order}{}",
    .from_driver.map(|d| format!(" (driver {d})")).unwrap_or_default(),
    .to_driver.map(|d| format!(" (driver {d})")).unwrap_or_default())]
pub struct IllegalTransition {
    pub from_order: OrderStatus,
    pub from_driver: Option<DriverStatus>,
    pub to_order: OrderStatus,
    pub to_driver: Option<DriverStatus>,
}

/// Applies a requested change to the current statuses. A driver status drives the order
/// status it implies; an order status alone must be a legal step of the order graph. The
/// result is the new pair, or the refusal.
pub fn resolve(
    current: Transition,
    to_order: Option<OrderStatus>,
    to_driver: Option<DriverStatus>,
) -> Result<Transition, IllegalTransition> {
    let refuse = |to: Transition| IllegalTransition {
        from_order: current.order,
        from_driver: current.driver,
        to_order: to.order,
        to_driver: to.driver,
    };
    let driver = to_driver.or(current.driver);
    let order = match (
        to_order,
        to_driver.and_then(DriverStatus::implied_order_status),
    ) {
        (Some(explicit), Some(implied)) if explicit != implied => {
            return Err(refuse(Transition {
                order: explicit,
                driver,
            }))
        }
        (Some(explicit), _) => explicit,
        (None, Some(implied)) => implied,
        (None, None) => current.order,
    };
    let target = Transition { order, driver };
    if current.order.is_terminal() {
        return Err(refuse(target));
    }
    if let Some(d) = to_driver {
        if !DriverStatus::can_follow(current.driver, d) {
            return Err(refuse(target));
        }
    }
    // A driver step may keep the order where it is (IN_PROGRESS → IN_PROGRESS).
    let order_ok = order == current.order && to_driver.is_some() || current.order.can_become(order);
    if !order_ok || target == current {
        return Err(refuse(target));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriverStatus as D;
    use OrderStatus as O;

    fn at(order: O, driver: Option<D>) -> Transition {
        Transition { order, driver }
    }

    #[test]
    fn every_order_transition_matches_the_graph() {
        let allowed: &[(O, O)] = &[
            (O::Pending, O::Confirmed),
            (O::Pending, O::Active),
            (O::Pending, O::Assigned),
            (O::Pending, O::Cancelled),
            (O::Confirmed, O::Active),
            (O::Confirmed, O::Assigned),
            (O::Confirmed, O::Cancelled),
            (O::Active, O::Assigned),
            (O::Active, O::Cancelled),
            (O::Assigned, O::InProgress),
            (O::Assigned, O::Cancelled),
            (O::InProgress, O::Delivered),
            (O::InProgress, O::Completed),
            (O::InProgress, O::Cancelled),
            (O::Delivered, O::Completed),
        ];
        for from in O::ALL {
            for to in O::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} → {to}");
                assert_eq!(
                    resolve(at(from, None), Some(to), None).is_ok(),
                    expected,
                    "{from} → {to} via resolve"
                );
            }
        }
    }

    #[test]
    fn every_driver_transition_moves_forward_only() {
        for to in D::ALL {
            assert_eq!(D::can_follow(None, to), to == D::Assigned, "none → {to}");
            for from in D::ALL {
                assert_eq!(D::can_follow(Some(from), to), to > from, "{from} → {to}");
            }
        }
        assert!(
            D::can_follow(Some(D::Assigned), D::ArrivedAtVendor),
            "skip forward"
        );
        assert!(
            D::can_follow(Some(D::ArrivedAtVendor), D::EnRouteToClient),
            "skip forward"
        );
        assert!(
            !D::can_follow(Some(D::PickedUp), D::ArrivedAtVendor),
            "no step back"
        );
    }

    #[test]
    fn driver_progress_drives_the_order() {
        let assigned = resolve(at(O::Active, None), None, Some(D::Assigned)).expect("assign");
        assert_eq!(assigned, at(O::Assigned, Some(D::Assigned)));
        let en_route = resolve(assigned, None, Some(D::EnRouteToVendor)).expect("en route");
        assert_eq!(en_route, at(O::InProgress, Some(D::EnRouteToVendor)));
        let picked = resolve(en_route, None, Some(D::PickedUp)).expect("picked up");
        assert_eq!(picked, at(O::InProgress, Some(D::PickedUp)));
        let done = resolve(picked, None, Some(D::Completed)).expect("completed");
        assert_eq!(done, at(O::Completed, Some(D::Completed)));
    }

    #[test]
    fn illegal_jumps_name_both_statuses() {
        // A driver cannot start on an unassigned, cancelled or completed order.
        let err =
            resolve(at(O::Active, None), None, Some(D::PickedUp)).expect_err("must assign first");
        assert!(
            err.to_string().contains("ACTIVE") && err.to_string().contains("PICKED_UP"),
            "{err}"
        );
        assert!(resolve(at(O::Cancelled, None), None, Some(D::Assigned)).is_err());
        assert!(resolve(
            at(O::Completed, Some(D::Completed)),
            Some(O::Cancelled),
            None
        )
        .is_err());
        // A driver step implying IN_PROGRESS on a PENDING order jumps the order graph.
        assert!(resolve(
            at(O::Pending, Some(D::Assigned)),
            None,
            Some(D::EnRouteToVendor)
        )
        .is_err());
        // Contradictory requests and no-ops are refused.
        assert!(resolve(
            at(O::Assigned, Some(D::Assigned)),
            Some(O::Cancelled),
            Some(D::PickedUp)
        )
        .is_err());
        assert!(resolve(at(O::Active, None), Some(O::Active), None).is_err());
    }

    #[test]
    fn partners_see_lifecycle_statuses() {
        assert_eq!(partner_lifecycle(O::Confirmed, None), None);
        assert_eq!(partner_lifecycle(O::Assigned, None), Some("ASSIGNED"));
        assert_eq!(
            partner_lifecycle(O::Assigned, Some(D::Assigned)),
            Some("ASSIGNED")
        );
        assert_eq!(partner_lifecycle(O::InProgress, None), Some("ON_THE_WAY"));
        assert_eq!(
            partner_lifecycle(O::InProgress, Some(D::ArrivedAtVendor)),
            Some("ASSIGNED")
        );
        assert_eq!(
            partner_lifecycle(O::InProgress, Some(D::PickedUp)),
            Some("PICKED_UP")
        );
        assert_eq!(
            partner_lifecycle(O::InProgress, Some(D::EnRouteToClient)),
            Some("ON_THE_WAY")
        );
        assert_eq!(
            partner_lifecycle(O::InProgress, Some(D::ArrivedToClient)),
            Some("ARRIVED")
        );
        assert_eq!(
            partner_lifecycle(O::Completed, Some(D::Completed)),
            Some("DELIVERED")
        );
        assert_eq!(
            partner_lifecycle(O::Cancelled, Some(D::PickedUp)),
            Some("CANCELLED")
        );
    }

    #[test]
    fn catervalley_hears_its_legacy_statuses() {
        assert_eq!(catervalley_status(O::Confirmed, None), Some("CONFIRM"));
        assert_eq!(catervalley_status(O::Assigned, None), None);
        assert_eq!(
            catervalley_status(O::InProgress, Some(D::PickedUp)),
            Some("READY")
        );
        assert_eq!(catervalley_status(O::InProgress, None), Some("ON_THE_WAY"));
        assert_eq!(catervalley_status(O::Completed, None), Some("COMPLETED"));
        assert_eq!(catervalley_status(O::Cancelled, None), Some("CANCELLED"));
    }

    #[test]
    fn statuses_round_trip_their_spelling() {
        for s in O::ALL {
            assert_eq!(s.as_str().parse::<O>(), Ok(s));
        }
        for s in D::ALL {
            assert_eq!(s.as_str().parse::<D>(), Ok(s));
        }
        assert!("SHIPPED".parse::<O>().is_err());
    }
}
