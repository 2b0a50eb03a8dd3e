//! What routing assumes of orders and vehicles, as data: window widths, service times,
//! sizes and capacities. One place to change them (plans, auto-dispatch's offers and the
//! drivers' ETAs read them); a plan's `rules` echo them back.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::orders::rules::{OrderType, VehicleType};

/// The planning rules. `Default` holds the platform's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanningRules {
    /// A catering order arrives inside `[arrival − this, arrival]`.
    pub catering_arrival_minutes: i64,
    /// Pickup may start this early before the order's pickup time (the vendor is ready).
    pub pickup_early_minutes: i64,
    /// Pickup must start by this long after the order's pickup time.
    pub pickup_late_minutes: i64,
    /// Minutes at the vendor.
    pub pickup_service_minutes: i64,
    /// Minutes at the client.
    pub drop_service_minutes: i64,
    /// Extra minutes at the client to set up when hosts are booked.
    pub host_setup_minutes: i64,
    /// One unit of vehicle room carries this many guests' catering.
    pub guests_per_unit: i32,
    /// One unit of vehicle room carries this many pounds of an on-demand item.
    pub pounds_per_unit: f64,
    /// Room per vehicle type, in units.
    pub car_units: i32,
    pub van_units: i32,
    pub truck_units: i32,
}

impl Default for PlanningRules {
    fn default() -> Self {
        Self {
            catering_arrival_minutes: 30,
            pickup_early_minutes: 10,
            pickup_late_minutes: 30,
            pickup_service_minutes: 10,
            drop_service_minutes: 15,
            host_setup_minutes: 15,
            guests_per_unit: 20,
            pounds_per_unit: 40.0,
            car_units: 6,
            van_units: 15,
            truck_units: 40,
        }
    }
}

/// What planning reads of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNeeds {
    pub order_type: OrderType,
    pub pickup_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
    pub headcount: Option<i32>,
    pub hosts_needed: bool,
    pub weight_lb: Option<f64>,
    pub vehicle_type: Option<VehicleType>,
}

/// An order's stops as planning sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderStops {
    pub pickup_window: (DateTime<Utc>, DateTime<Utc>),
    pub pickup_service: Duration,
    pub drop_window: (DateTime<Utc>, DateTime<Utc>),
    pub drop_service: Duration,
    pub size: i32,
    /// The vehicle types that may carry it (any when `None`).
    pub vehicle_types: Option<Vec<VehicleType>>,
}

impl PlanningRules {
    pub fn capacity(&self, vehicle: VehicleType) -> i32 {
        match vehicle {
            VehicleType::Car => self.car_units,
            VehicleType::Van => self.van_units,
            VehicleType::Truck => self.truck_units,
        }
    }

    /// An order's windows, service times, size and vehicles. Catering arrives inside
    /// `[arrival − catering_arrival_minutes, arrival]`; an on-demand order anywhere in its
    /// promised span `[pickup, arrival]`. A vehicle type asked for admits it and larger.
    pub fn stops(&self, order: &OrderNeeds) -> OrderStops {
        let minutes = Duration::minutes;
        let drop_window = match order.order_type {
            OrderType::Catering => (
                order.arrival_at - minutes(self.catering_arrival_minutes),
                order.arrival_at,
            ),
            OrderType::OnDemand => (order.pickup_at, order.arrival_at),
        };
        let pickup_window = (
            order.pickup_at - minutes(self.pickup_early_minutes),
            (order.pickup_at + minutes(self.pickup_late_minutes)).min(drop_window.1),
        );
        let setup = if order.hosts_needed {
            self.host_setup_minutes
        } else {
            0
        };
        let size = match order.order_type {
            OrderType::Catering => {
                let guests = order.headcount.unwrap_or(1).max(1);
                (guests + self.guests_per_unit - 1) / self.guests_per_unit
            }
            OrderType::OnDemand => order
                .weight_lb
                .map_or(1, |lb| (lb / self.pounds_per_unit).ceil().max(1.0) as i32),
        };
        let vehicle_types = order.vehicle_type.map(|asked| {
            [VehicleType::Car, VehicleType::Van, VehicleType::Truck]
                .into_iter()
                .filter(|v| self.capacity(*v) >= self.capacity(asked))
                .collect()
        });
        OrderStops {
            pickup_window,
            pickup_service: minutes(self.pickup_service_minutes),
            drop_window,
            drop_service: minutes(self.drop_service_minutes + setup),
            size,
            vehicle_types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 6, 3, hour, minute, 0)
            .single()
            .expect("a time")
    }

    fn catering(headcount: i32, hosts: bool) -> OrderNeeds {
        OrderNeeds {
            order_type: OrderType::Catering,
            pickup_at: at(11, 0),
            arrival_at: at(12, 0),
            headcount: Some(headcount),
            hosts_needed: hosts,
            weight_lb: None,
            vehicle_type: None,
        }
    }

    #[test]
    fn catering_arrives_in_the_half_hour_before_and_is_sized_by_guests() {
        let rules = PlanningRules::default();
        let stops = rules.stops(&catering(45, false));
        assert_eq!(stops.drop_window, (at(11, 30), at(12, 0)));
        assert_eq!(stops.pickup_window, (at(10, 50), at(11, 30)));
        assert_eq!(stops.size, 3, "45 guests at 20 a unit");
        assert_eq!(stops.drop_service, Duration::minutes(15));
        assert_eq!(stops.vehicle_types, None);
        let hosted = rules.stops(&catering(10, true));
        assert_eq!(hosted.drop_service, Duration::minutes(30));
        assert_eq!(hosted.size, 1);
    }

    #[test]
    fn on_demand_arrives_within_its_promise_in_a_vehicle_at_least_as_large_as_asked() {
        let rules = PlanningRules::default();
        let order = OrderNeeds {
            order_type: OrderType::OnDemand,
            headcount: None,
            weight_lb: Some(100.0),
            vehicle_type: Some(VehicleType::Van),
            ..catering(1, false)
        };
        let stops = rules.stops(&order);
        assert_eq!(stops.drop_window, (at(11, 0), at(12, 0)));
        assert_eq!(stops.size, 3, "100 lb at 40 a unit");
        assert_eq!(
            stops.vehicle_types,
            Some(vec![VehicleType::Van, VehicleType::Truck])
        );
    }
}
