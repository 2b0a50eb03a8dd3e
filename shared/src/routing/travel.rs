//! Travel between a plan's places: the offline estimate (great-circle distance × the road
//! factor, at average city speed), which every deployment has and local runs use.

use super::{Matrix, RoutingError};
use crate::{
    drivers::roster::AVERAGE_SPEED_MPS,
    geo::{haversine_miles, Point, ROAD_FACTOR},
};

const METERS_PER_MILE: f64 = 1609.344;

/// Every place to every place: meters by road (estimated) and seconds at city speed. A
/// point that is not a number is refused.
pub fn estimated(points: &[Point]) -> Result<Matrix, RoutingError> {
    let n = points.len();
    let mut meters = Vec::with_capacity(n * n);
    for &from in points {
        for &to in points {
            meters.push(haversine_miles(from, to) * METERS_PER_MILE * ROAD_FACTOR);
        }
    }
    let seconds = meters.iter().map(|m| m / AVERAGE_SPEED_MPS).collect();
    Matrix::new(n, seconds, meters)
}
