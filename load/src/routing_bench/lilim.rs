//! Li & Lim instances (`load/data/lilim/`, whose README gives the format) as routing
//! problems, and their best-known solutions.

use std::{collections::HashMap, path::Path};

use serde::Deserialize;
use shared::{
    orders::rules::VehicleType,
    routing::{Matrix, Objective, Problem, Shipment, Stop, StopKind, TimeWindow, Vehicle},
};

use crate::LoadError;

/// One task line: `id x y demand earliest latest service pickup delivery`.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub x: f64,
    pub y: f64,
    pub demand: i32,
    pub earliest: f64,
    pub latest: f64,
    pub service: f64,
    /// For a pickup, the id of its delivery (0 for a delivery).
    pub delivery: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub name: String,
    pub fleet: usize,
    pub capacity: i32,
    /// Task 0 is the depot.
    pub tasks: Vec<Task>,
}

impl Instance {
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Setup(format!("reading {}: {e}", path.display())))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        Self::parse(&name, &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Self, LoadError> {
        let bad = |line: usize, what: &str| LoadError::Setup(format!("{name} line {line}: {what}"));
        let mut lines = text.lines().filter(|l| !l.trim().is_empty()).enumerate();
        let (_, header) = lines.next().ok_or_else(|| bad(1, "empty file"))?;
        let header: Vec<&str> = header.split_whitespace().collect();
        let (fleet, capacity) = match header.as_slice() {
            [fleet, capacity, ..] => (
                fleet
                    .parse()
                    .map_err(|_| bad(1, "fleet size is not a number"))?,
                capacity
                    .parse()
                    .map_err(|_| bad(1, "capacity is not a number"))?,
            ),
            _ => return Err(bad(1, "expected `K Q S`")),
        };
        let mut tasks = Vec::new();
        for (index, line) in lines {
            let fields: Vec<f64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad(index + 1, "a field is not a number"))?;
            let [id, x, y, demand, earliest, latest, service, _pickup, delivery] = fields[..]
            else {
                return Err(bad(index + 1, "expected 9 fields"));
            };
            if id as usize != tasks.len() {
                return Err(bad(index + 1, "task ids must run 0, 1, 2, …"));
            }
            tasks.push(Task {
                x,
                y,
                demand: demand as i32,
                earliest,
                latest,
                service,
                delivery: delivery as usize,
            });
        }
        if tasks.is_empty() {
            return Err(bad(2, "no depot"));
        }
        Ok(Self {
            name: name.to_owned(),
            fleet,
            capacity,
            tasks,
        })
    }

    /// Shipments in task order of their pickups, with the task id of each end.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.demand > 0)
            .map(|(id, t)| (id, t.delivery))
            .collect()
    }

    /// The instance as the routing core states it: places are task ids, the Euclidean
    /// distance unrounded is both distance and time, every vehicle leaves the depot at 0
    /// and is back by the depot's `latest`, and distance is what is minimised.
    pub fn problem(&self) -> Result<Problem, LoadError> {
        let n = self.tasks.len();
        let mut distances = Vec::with_capacity(n * n);
        for a in &self.tasks {
            for b in &self.tasks {
                distances.push((a.x - b.x).hypot(a.y - b.y));
            }
        }
        let matrix = Matrix::from_distances(n, distances)
            .map_err(|e| LoadError::Setup(format!("{}: {e}", self.name)))?;
        let stop = |id: usize| {
            let t = &self.tasks[id];
            Stop {
                place: id,
                window: TimeWindow::new(t.earliest, t.latest),
                service: t.service,
            }
        };
        let shipments = self
            .pairs()
            .into_iter()
            .map(|(pickup, delivery)| {
                if delivery == 0 || delivery >= n {
                    return Err(LoadError::Setup(format!(
                        "{}: pickup {pickup} names delivery {delivery}",
                        self.name
                    )));
                }
                Ok(Shipment {
                    id: pickup.to_string(),
                    pickup: stop(pickup),
                    delivery: stop(delivery),
                    size: self.tasks[pickup].demand,
                    vehicle_types: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let depot = &self.tasks[0];
        let vehicles = (0..self.fleet)
            .map(|v| Vehicle {
                id: v.to_string(),
                vehicle_type: VehicleType::Truck,
                capacity: self.capacity,
                start: 0,
                end: 0,
                shift: TimeWindow::new(depot.earliest, depot.latest),
            })
            .collect();
        Ok(Problem {
            matrix,
            shipments,
            vehicles,
            objective: Objective::Distance,
            locks: Vec::new(),
        })
    }

    /// A route given as task ids (as VROOM answers) as the routing core's visits.
    pub fn visits(&self, tasks: &[usize]) -> Result<Vec<(usize, StopKind)>, LoadError> {
        let shipment_of: HashMap<usize, (usize, StopKind)> = self
            .pairs()
            .into_iter()
            .enumerate()
            .flat_map(|(s, (pickup, delivery))| {
                [
                    (pickup, (s, StopKind::Pickup)),
                    (delivery, (s, StopKind::Delivery)),
                ]
            })
            .collect();
        tasks
            .iter()
            .map(|t| {
                shipment_of.get(t).copied().ok_or_else(|| {
                    LoadError::Setup(format!("{}: a route visits unknown task {t}", self.name))
                })
            })
            .collect()
    }
}

/// The best-known solution of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct BestKnown {
    pub vehicles: usize,
    pub distance: f64,
}

pub fn best_known(path: &Path) -> Result<HashMap<String, BestKnown>, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::Setup(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| LoadError::Setup(format!("{} is not a best-known table: {e}", path.display())))
}
