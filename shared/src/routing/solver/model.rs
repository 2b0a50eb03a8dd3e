//! The problem in `vrp-core`'s terms: each shipment a pickup-and-delivery job, each
//! vehicle an actor with its working window, start and end; the goal of fewest unserved,
//! then fewest routes, then least drive time (or distance); and the locks that keep
//! shipments on their vehicles.

use std::{collections::HashSet, sync::Arc};

use vrp_core::{
    construction::{
        enablers::create_typed_actor_groups,
        features::{
            create_locked_jobs_feature, create_minimize_tours_feature, create_skills_feature,
            JobSkills, JobSkillsDimension, VehicleSkillsDimension,
        },
    },
    models::{
        common::TimeWindow as VrpWindow,
        problem::{Actor, JobIdDimension, VehicleIdDimension},
        Lock, LockDetail, LockOrder, LockPosition,
    },
    prelude::*,
};

use super::super::{Objective, Problem, Shipment, Vehicle};

// Each hard constraint's code, so an unserved job's reason says which one refused it.
pub(super) const TIME: ViolationCode = ViolationCode(1);
pub(super) const CAPACITY: ViolationCode = ViolationCode(2);
pub(super) const VEHICLE_TYPE: ViolationCode = ViolationCode(3);
pub(super) const LOCKED: ViolationCode = ViolationCode(4);

/// The crate's problem of the `servable` shipments and every vehicle.
pub(super) fn vrp_problem(
    problem: &Problem,
    servable: &[usize],
) -> GenericResult<Arc<vrp_core::models::Problem>> {
    let (durations, distances) = problem.matrix.clone().into_parts();
    // The crate's global objective sums a route's whole duration (waiting and service
    // included) when minimising time, not its driving. Drive time is minimised exactly by
    // giving the crate the travel times as the "distance" it minimises.
    let minimised = match problem.objective {
        Objective::DriveTime => durations.clone(),
        Objective::Distance => distances,
    };
    let transport: Arc<dyn TransportCost> =
        Arc::new(SimpleTransportCost::new(durations, minimised)?);
    let objective = TransportFeatureBuilder::new("transport")
        .set_violation_code(TIME)
        .set_transport_cost(transport.clone())
        .build_minimize_distance()?;
    let features = vec![
        MinimizeUnassignedBuilder::new("unassigned").build()?,
        create_minimize_tours_feature("tours")?,
        objective,
        CapacityFeatureBuilder::<SingleDimLoad>::new("capacity")
            .set_violation_code(CAPACITY)
            .build()?,
        create_skills_feature("vehicle_type", VEHICLE_TYPE)?,
    ];
    let goal = GoalContextBuilder::with_features(&features)?.build()?;
    let jobs = servable
        .iter()
        .map(|&i| job(i, &problem.shipments[i]))
        .collect::<GenericResult<Vec<_>>>()?;
    let vehicles = problem
        .vehicles
        .iter()
        .enumerate()
        .map(|(i, v)| vehicle(i, v))
        .collect::<GenericResult<Vec<_>>>()?;
    let kinds: Arc<Vec<String>> = Arc::new(
        problem
            .vehicles
            .iter()
            .map(|v| {
                format!(
                    "{}/{}/{}/{}",
                    v.vehicle_type.as_str(),
                    v.capacity,
                    v.start,
                    v.end
                )
            })
            .collect(),
    );
    let built = ProblemBuilder::default()
        .add_jobs(jobs.into_iter())
        .add_vehicles(vehicles.into_iter())
        .with_goal(goal)
        .with_transport_cost(transport)
        // The search opens a new route with one unused vehicle of each group, so
        // vehicles must be grouped by all that tells them apart: type, size and
        // places (the crate adds the working window).
        .with_vehicle_similarity(move |actors| {
            let kinds = kinds.clone();
            Box::new(create_typed_actor_groups(actors, move |actor| {
                actor
                    .vehicle
                    .dimens
                    .get_vehicle_id()
                    .and_then(|id| id.parse::<usize>().ok())
                    .and_then(|index| kinds.get(index).cloned())
                    .unwrap_or_default()
            }))
        })
        .with_logger(Arc::new(|message: &str| {
            tracing::debug!(message, "routing problem")
        }))
        .build()?;
    Ok(Arc::new(with_locks(built, problem, features)?))
}

fn job(index: usize, shipment: &Shipment) -> GenericResult<Job> {
    let single = |stop: &super::super::Stop, demand| {
        SingleBuilder::default()
            .demand(demand)
            .location(stop.place)?
            .duration(stop.service)?
            .times(vec![VrpWindow::new(stop.window.start, stop.window.end)])?
            .build()
    };
    let pickup = single(&shipment.pickup, Demand::pudo_pickup(shipment.size))?;
    let delivery = single(&shipment.delivery, Demand::pudo_delivery(shipment.size))?;
    MultiBuilder::default()
        .id(&index.to_string())
        .dimension(|dimens| {
            if let Some(types) = &shipment.vehicle_types {
                let one_of = types.iter().map(|t| t.as_str().to_owned()).collect();
                dimens.set_job_skills(JobSkills::new(None, Some(one_of), None));
            }
        })
        .add_job(pickup)
        .add_job(delivery)
        .build_as_job()
}

fn vehicle(index: usize, vehicle: &Vehicle) -> GenericResult<vrp_core::models::problem::Vehicle> {
    let detail = VehicleDetailBuilder::default()
        .set_start_location(vehicle.start)
        .set_start_time(vehicle.shift.start)
        // A driver may leave later than the window opens rather than wait at a pickup.
        .set_start_time_latest(vehicle.shift.end)
        .set_end_location(vehicle.end)
        .set_end_time(vehicle.shift.end);
    VehicleBuilder::default()
        .id(&index.to_string())
        .add_detail(detail.build()?)
        .capacity(SingleDimLoad::new(vehicle.capacity))
        .dimension(|dimens| {
            dimens.set_vehicle_skills(HashSet::from([vehicle.vehicle_type.as_str().to_owned()]));
        })
        .build()
}

/// The built problem with its shipments locked to their vehicles, if any are: the crate's
/// locking feature needs the built fleet, so the goal is made again with it.
fn with_locks(
    built: vrp_core::models::Problem,
    problem: &Problem,
    features: Vec<Feature>,
) -> GenericResult<vrp_core::models::Problem> {
    if problem.locks.is_empty() {
        return Ok(built);
    }
    let jobs_by_id: std::collections::HashMap<String, Job> = built
        .jobs
        .all()
        .iter()
        .filter_map(|job| {
            job.dimens()
                .get_job_id()
                .map(|id| (id.clone(), job.clone()))
        })
        .collect();
    let locks: Vec<Arc<Lock>> = problem
        .locks
        .iter()
        .map(|lock| {
            let vehicle = lock.vehicle.to_string();
            // The crate starts the vehicle's route with the locked jobs, one stop per
            // mention: each shipment twice, its pickup then its delivery.
            let jobs = lock
                .shipments
                .iter()
                .filter_map(|s| jobs_by_id.get(&s.to_string()).cloned())
                .flat_map(|job| [job.clone(), job])
                .collect();
            Arc::new(Lock::new(
                Arc::new(move |actor: &Actor| {
                    actor.vehicle.dimens.get_vehicle_id() == Some(&vehicle)
                }),
                vec![LockDetail::new(LockOrder::Any, LockPosition::Any, jobs)],
                false,
            ))
        })
        .collect();
    let mut features = features;
    features.push(create_locked_jobs_feature(
        "locks",
        &built.fleet,
        &locks,
        LOCKED,
    )?);
    let goal = GoalContextBuilder::with_features(&features)?.build()?;
    Ok(vrp_core::models::Problem {
        locks,
        goal: Arc::new(goal),
        ..built
    })
}
