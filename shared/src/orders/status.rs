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
//!
//! Two ways lead back to dispatch, outside the graphs: a driver taken off before the
//! pickup ([`release`]) and a failed delivery attempt with the food on board ([`fail`]).

use crate::text_enum::text_enum;

text_enum! {
    pub enum OrderStatus("order status") {
        Pending = "PENDING",
        Confirmed = "CONFIRMED",
        Active = "ACTIVE",
        Assigned = "ASSIGNED",
        InProgress = "IN_PROGRESS",
        Delivered = "DELIVERED",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

impl OrderStatus {
    /// Settled: the order's story has ended (COMPLETED, CANCELLED); it accepts neither
    /// transitions nor field edits. SQL asks `order_is_settled(status)` (migration V19).
    pub fn is_settled(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }

    /// Open: the delivery still needs its driver, so it counts against the driver's load,
    /// keeps a shift from ending and the client's account from being deleted. A DELIVERED
    /// order is neither open nor settled: the food is with the customer and only its
    /// completion is left. SQL asks `order_is_open(status)` (migration V19).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            OrderStatus::Delivered | OrderStatus::Completed | OrderStatus::Cancelled
        )
    }

    /// The food reached the customer (DELIVERED, COMPLETED): the dashboards' completed
    /// orders. SQL asks `order_is_handed_over(status)`.
    pub fn is_handed_over(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Completed)
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

text_enum! {
    /// Declared in delivery order: a driver moves forward only, so `>` means "later".
    #[derive(PartialOrd, Ord)]
    pub enum DriverStatus("driver status") {
        Assigned = "ASSIGNED",
        EnRouteToVendor = "EN_ROUTE_TO_VENDOR",
        ArrivedAtVendor = "ARRIVED_AT_VENDOR",
        PickedUp = "PICKED_UP",
        EnRouteToClient = "EN_ROUTE_TO_CLIENT",
        ArrivedToClient = "ARRIVED_TO_CLIENT",
        Completed = "COMPLETED",
    }
}

impl DriverStatus {
    /// Whether the order is still at or before the pickup: its driver may be taken off
    /// it, and the order offered or assigned afresh.
    pub fn before_pickup(self) -> bool {
        self < DriverStatus::PickedUp
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
    if current.order.is_settled() {
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

/// Takes the driver off an order that is not yet picked up: the driver status clears and
/// the order goes back to `before`, what it was before its first driver (ACTIVE when that
/// was not an undispatched status).
pub fn release(current: Transition, before: OrderStatus) -> Result<Transition, IllegalTransition> {
    let order = match before {
        OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Active => before,
        _ => OrderStatus::Active,
    };
    let target = Transition {
        order,
        driver: None,
    };
    match current.driver {
        Some(driver) if driver.before_pickup() && !current.order.is_settled() => Ok(target),
        _ => Err(IllegalTransition {
            from_order: current.order,
            from_driver: current.driver,
            to_order: target.order,
            to_driver: None,
        }),
    }
}

text_enum! {
    /// Why a delivery attempt failed, as the driver reports it.
    pub enum FailureReason("failure reason") {
        /// Nobody at the drop-off to take the food.
        NoOneThere = "NO_ONE_THERE",
        /// The address does not lead to the recipient.
        AddressWrong = "ADDRESS_WRONG",
        /// The recipient would not take it.
        Refused = "REFUSED",
        /// The driver could not stay or go in safely.
        Unsafe = "UNSAFE",
    }
}

impl FailureReason {
    /// How the customer is told.
    pub fn phrase(self) -> &'static str {
        match self {
            FailureReason::NoOneThere => "no one was there to receive it",
            FailureReason::AddressWrong => "the driver could not find the address",
            FailureReason::Refused => "it was refused at the door",
            FailureReason::Unsafe => "the driver could not reach the drop-off safely",
        }
    }
}

/// A failed delivery attempt: the driver had the food (picked up, not yet completed) and
/// could not hand it over. The driver status clears and the order goes back to dispatch
/// (ACTIVE), to be delivered again.
pub fn fail(current: Transition) -> Result<Transition, IllegalTransition> {
    let target = Transition {
        order: OrderStatus::Active,
        driver: None,
    };
    match current.driver {
        Some(driver)
            if !driver.before_pickup()
                && driver != DriverStatus::Completed
                && current.order == OrderStatus::InProgress =>
        {
            Ok(target)
        }
        _ => Err(IllegalTransition {
            from_order: current.order,
            from_driver: current.driver,
            to_order: target.order,
            to_driver: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriverStatus as D;
    use OrderStatus as O;

    fn at(order: O, driver: Option<D>) -> Transition {
        Transition { order, driver }
    }

    /// What DELIVERED means: handed over, so no longer open (no load on its driver, no
    /// arrival to detect), yet not settled (its driver still completes it).
    #[test]
    fn each_status_is_open_settled_or_handed_over_as_decided() {
        let table = [
            // (status, open, settled, handed over)
            (O::Pending, true, false, false),
            (O::Confirmed, true, false, false),
            (O::Active, true, false, false),
            (O::Assigned, true, false, false),
            (O::InProgress, true, false, false),
            (O::Delivered, false, false, true),
            (O::Completed, false, true, true),
            (O::Cancelled, false, true, false),
        ];
        assert_eq!(table.len(), O::ALL.len(), "every status is decided");
        for (status, open, settled, handed_over) in table {
            assert_eq!(status.is_open(), open, "{status} open");
            assert_eq!(status.is_settled(), settled, "{status} settled");
            assert_eq!(status.is_handed_over(), handed_over, "{status} handed over");
            // A settled order takes no transition; an open one always has a way forward.
            assert_eq!(status.next().is_empty(), settled, "{status}");
        }
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
    fn a_driver_is_released_only_before_the_pickup() {
        let assigned = at(O::Assigned, Some(D::Assigned));
        assert_eq!(release(assigned, O::Confirmed), Ok(at(O::Confirmed, None)));
        let at_vendor = at(O::InProgress, Some(D::ArrivedAtVendor));
        assert_eq!(release(at_vendor, O::Active), Ok(at(O::Active, None)));
        // What came before a first driver can only be an undispatched status.
        assert_eq!(release(assigned, O::Assigned), Ok(at(O::Active, None)));
        for on_board in [
            D::PickedUp,
            D::EnRouteToClient,
            D::ArrivedToClient,
            D::Completed,
        ] {
            let err = release(at(O::InProgress, Some(on_board)), O::Active)
                .expect_err("the food is on board");
            assert!(err.to_string().contains(on_board.as_str()), "{err}");
        }
        assert!(
            release(at(O::Active, None), O::Active).is_err(),
            "no driver"
        );
        assert!(
            release(at(O::Cancelled, Some(D::Assigned)), O::Active).is_err(),
            "settled"
        );
    }

    #[test]
    fn an_attempt_fails_only_with_the_food_on_board() {
        for on_board in [D::PickedUp, D::EnRouteToClient, D::ArrivedToClient] {
            assert_eq!(
                fail(at(O::InProgress, Some(on_board))),
                Ok(at(O::Active, None)),
                "{on_board}"
            );
        }
        for before in [D::Assigned, D::EnRouteToVendor, D::ArrivedAtVendor] {
            let order = if before == D::Assigned {
                O::Assigned
            } else {
                O::InProgress
            };
            assert!(fail(at(order, Some(before))).is_err(), "{before}");
        }
        assert!(fail(at(O::Completed, Some(D::Completed))).is_err());
        assert!(fail(at(O::Cancelled, Some(D::PickedUp))).is_err());
        assert!(fail(at(O::Active, None)).is_err());
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
