//! The pure fee calculation: integer arithmetic on a configuration, no I/O (the rule is
//! described in [`super`]).

use serde::Serialize;
use uuid::Uuid;

use super::{PricingConfig, Tier};
use crate::error::ApiError;

/// What a price depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuoteInput {
    pub head_count: Option<i64>,
    pub food_cost_cents: Option<i64>,
    pub distance_hundredths: i64,
    pub crosses_toll_bridge: bool,
    /// Drives the same client has that day; from the second one the daily discount applies.
    pub same_day_drives: u32,
    pub tip_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub configuration_id: Uuid,
    pub configuration_version: i32,
    pub head_count_tier: Option<i32>,
    pub food_cost_tier: Option<i32>,
    pub base_cents: i64,
    pub mileage_cents: i64,
    pub daily_drive_discount_cents: i64,
    pub bridge_toll_cents: i64,
    /// What the customer pays for delivery: base + mileage − discount + toll.
    pub delivery_fee_cents: i64,
    pub tip_cents: i64,
    pub distance_hundredths: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("give a head count, a food cost, or both")]
    NoInputs,
    #[error("no tier of this configuration gives a fee for these inputs")]
    Undetermined,
    #[error("{0} must not be negative")]
    Negative(&'static str),
}

impl From<PricingError> for ApiError {
    fn from(err: PricingError) -> Self {
        match err {
            PricingError::Negative(_) => {
                ApiError::bad_request("validation_failed", err.to_string())
            }
            _ => ApiError::unprocessable("pricing_unavailable", err.to_string()),
        }
    }
}

/// `value × numerator / denominator`, rounded half up, in integers.
fn mul_div_round(value: i64, numerator: i64, denominator: i64) -> i64 {
    let product = i128::from(value) * i128::from(numerator);
    let d = i128::from(denominator);
    ((product + d / 2).div_euclid(d)) as i64
}

impl PricingConfig {
    fn tier_fee(&self, tier: &Tier, food_cost_cents: Option<i64>, beyond: bool) -> Option<i64> {
        if let Some(bp) = tier.food_cost_basis_points {
            return food_cost_cents.map(|food| mul_div_round(food, i64::from(bp), 10_000));
        }
        if beyond && !self.beyond_threshold_uses_within_fee {
            tier.beyond_fee_cents.or(tier.within_fee_cents)
        } else {
            tier.within_fee_cents
        }
    }

    fn by_head_count(&self, head_count: i64) -> Option<&Tier> {
        self.tiers.iter().find(|t| {
            i64::from(t.min_head_count) <= head_count
                && t.max_head_count
                    .is_none_or(|max| head_count <= i64::from(max))
        })
    }

    fn by_food_cost(&self, cents: i64) -> Option<&Tier> {
        self.tiers.iter().find(|t| {
            t.min_food_cost_cents <= cents && t.max_food_cost_cents.is_none_or(|max| cents <= max)
        })
    }
}

/// Prices one delivery: the base fee of the tiers, mileage beyond the threshold, the
/// daily-drive discount and the bridge toll.
pub fn calculate(config: &PricingConfig, input: &QuoteInput) -> Result<Quote, PricingError> {
    check_inputs(input)?;
    let beyond = input.distance_hundredths > config.distance_threshold_hundredths;
    let head_tier = input.head_count.and_then(|h| config.by_head_count(h));
    let food_tier = input.food_cost_cents.and_then(|f| config.by_food_cost(f));
    let base = lesser_fee(config, input, beyond, head_tier, food_tier)?;
    let base_cents = base.max(config.minimum_fee_cents);
    let mileage_cents = if beyond {
        mul_div_round(
            config.mileage_rate_cents,
            input.distance_hundredths - config.distance_threshold_hundredths,
            100,
        )
    } else {
        0
    };
    let daily_drive_discount_cents = if input.same_day_drives >= 2 {
        config
            .daily_drive_discount_cents
            .min(base_cents + mileage_cents)
    } else {
        0
    };
    let bridge_toll_cents = if input.crosses_toll_bridge && config.charge_bridge_toll {
        config.bridge_toll_cents
    } else {
        0
    };
    Ok(Quote {
        configuration_id: config.id,
        configuration_version: config.version,
        head_count_tier: head_tier.map(|t| t.tier_number),
        food_cost_tier: food_tier.map(|t| t.tier_number),
        base_cents,
        mileage_cents,
        daily_drive_discount_cents,
        bridge_toll_cents,
        delivery_fee_cents: base_cents + mileage_cents - daily_drive_discount_cents
            + bridge_toll_cents,
        tip_cents: input.tip_cents,
        distance_hundredths: input.distance_hundredths,
    })
}

/// Refuses negative inputs (naming the first) and a request with neither a head count
/// nor a food cost, which no tier can be found for.
fn check_inputs(input: &QuoteInput) -> Result<(), PricingError> {
    for (name, value) in [
        ("headCount", input.head_count.unwrap_or(0)),
        ("foodCost", input.food_cost_cents.unwrap_or(0)),
        ("distance", input.distance_hundredths),
        ("tip", input.tip_cents),
    ] {
        if value < 0 {
            return Err(PricingError::Negative(name));
        }
    }
    if input.head_count.is_none() && input.food_cost_cents.is_none() {
        return Err(PricingError::NoInputs);
    }
    Ok(())
}

/// The lesser of the two tiers' fees, before the minimum: a tie goes to the head-count
/// tier, and a fee of zero or one that cannot be determined loses.
fn lesser_fee(
    config: &PricingConfig,
    input: &QuoteInput,
    beyond: bool,
    head_tier: Option<&Tier>,
    food_tier: Option<&Tier>,
) -> Result<i64, PricingError> {
    let fee_of = |tier: Option<&Tier>| {
        tier.and_then(|t| config.tier_fee(t, input.food_cost_cents, beyond))
            .filter(|fee| *fee > 0)
    };
    match (fee_of(head_tier), fee_of(food_tier)) {
        (Some(h), Some(f)) => Ok(h.min(f)),
        (Some(h), None) => Ok(h),
        (None, Some(f)) => Ok(f),
        (None, None) => Err(PricingError::Undetermined),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::dollars;

    /// CaterValley's configuration as seeded by migration V3.
    fn catervalley(beyond_uses_within: bool) -> PricingConfig {
        let tier = |n, min_h, max_h, min_f, max_f, within, beyond| Tier {
            tier_number: n,
            min_head_count: min_h,
            max_head_count: max_h,
            min_food_cost_cents: min_f,
            max_food_cost_cents: max_f,
            within_fee_cents: within,
            beyond_fee_cents: beyond,
            food_cost_basis_points: None,
        };
        PricingConfig {
            id: Uuid::nil(),
            slug: "catervalley".into(),
            version: 1,
            name: "CaterValley".into(),
            distance_threshold_hundredths: 1000,
            mileage_rate_cents: 300,
            minimum_fee_cents: 4250,
            bridge_toll_cents: 850,
            charge_bridge_toll: false,
            beyond_threshold_uses_within_fee: beyond_uses_within,
            daily_drive_discount_cents: 0,
            tiers: vec![
                tier(1, 0, Some(25), 0, Some(30000), Some(4250), Some(8500)),
                tier(2, 26, Some(49), 30001, Some(59999), Some(5250), Some(9000)),
                tier(3, 50, Some(74), 60000, Some(89999), Some(6250), Some(11000)),
                tier(
                    4,
                    75,
                    Some(99),
                    90000,
                    Some(119999),
                    Some(7250),
                    Some(12000),
                ),
                Tier {
                    food_cost_basis_points: Some(1000),
                    ..tier(5, 100, None, 120000, None, None, None)
                },
            ],
        }
    }

    fn fee(config: &PricingConfig, head: Option<i64>, food: Option<i64>, miles_x100: i64) -> i64 {
        calculate(
            config,
            &QuoteInput {
                head_count: head,
                food_cost_cents: food,
                distance_hundredths: miles_x100,
                ..QuoteInput::default()
            },
        )
        .expect("priced")
        .delivery_fee_cents
    }

    #[test]
    fn partner_examples() {
        let cv = catervalley(true);
        assert_eq!(fee(&cv, Some(1), Some(1675), 0), 4250);
        assert_eq!(fee(&cv, Some(26), Some(35000), 500), 5250);
        assert_eq!(fee(&cv, Some(50), None, 500), 6250);
        assert_eq!(fee(&cv, Some(120), Some(150000), 500), 15000);
        // The original's real-world examples (within fee at any distance plus mileage).
        assert_eq!(fee(&cv, Some(20), Some(27867), 1410), 5480);
        assert_eq!(fee(&cv, Some(32), Some(32159), 1010), 5280);
    }

    #[test]
    fn both_beyond_threshold_settings() {
        assert_eq!(fee(&catervalley(true), Some(30), Some(40000), 1500), 6750);
        assert_eq!(fee(&catervalley(false), Some(30), Some(40000), 1500), 10500);
    }

    #[test]
    fn head_count_tier_boundaries() {
        let cv = catervalley(true);
        for (head, expected) in [
            (0, 4250),
            (25, 4250),
            (26, 5250),
            (49, 5250),
            (50, 6250),
            (74, 6250),
            (75, 7250),
            (99, 7250),
        ] {
            assert_eq!(fee(&cv, Some(head), None, 0), expected, "{head} people");
        }
        // 100+ is 10% of food cost: without a food cost it cannot be priced.
        assert_eq!(
            calculate(
                &cv,
                &QuoteInput {
                    head_count: Some(100),
                    ..QuoteInput::default()
                }
            ),
            Err(PricingError::Undetermined)
        );
    }

    #[test]
    fn food_cost_tier_boundaries() {
        let cv = catervalley(true);
        for (cents, expected) in [
            (0, 4250),
            (30000, 4250),
            (30001, 5250),
            (59999, 5250),
            (60000, 6250),
            (89999, 6250),
            (90000, 7250),
            (119999, 7250),
            (120000, 12000),
            (123456, 12346),
        ] {
            assert_eq!(
                fee(&cv, None, Some(cents), 0),
                expected,
                "${}",
                dollars(cents)
            );
        }
    }

    #[test]
    fn the_lesser_fee_wins_and_ties_go_to_head_count() {
        let cv = catervalley(true);
        let quote = |h, f| {
            calculate(
                &cv,
                &QuoteInput {
                    head_count: Some(h),
                    food_cost_cents: Some(f),
                    ..QuoteInput::default()
                },
            )
            .expect("priced")
        };
        // 80 people (tier 4, $72.50) with $350 of food (tier 2, $52.50): $52.50.
        assert_eq!(quote(80, 35000).base_cents, 5250);
        // 10 people (tier 1) with $1000 of food (tier 4): $42.50.
        assert_eq!(quote(10, 100000).base_cents, 4250);
        let tie = quote(30, 40000);
        assert_eq!(
            (tie.head_count_tier, tie.food_cost_tier, tie.base_cents),
            (Some(2), Some(2), 5250)
        );
        // 100+ people with $200 of food: 10% of food is $20, less than the food tier's
        // $42.50, and the minimum fee lifts it back to $42.50.
        assert_eq!(quote(150, 20000).base_cents, 4250);
    }

    #[test]
    fn distance_threshold_and_mileage_rounding() {
        let cv = catervalley(true);
        assert_eq!(
            fee(&cv, Some(10), None, 1000),
            4250,
            "exactly 10 miles is within"
        );
        assert_eq!(
            fee(&cv, Some(10), None, 1001),
            4253,
            "10.01 miles adds 3 cents"
        );
        assert_eq!(
            fee(
                &cv,
                Some(10),
                None,
                crate::geo::FALLBACK_DISTANCE_HUNDREDTHS
            ),
            4280
        );
        assert_eq!(fee(&catervalley(false), Some(10), None, 1001), 8503);
    }

    #[test]
    fn minimum_toll_discount_and_tip() {
        let mut config = catervalley(true);
        config.charge_bridge_toll = true;
        config.daily_drive_discount_cents = 500;
        let quote = calculate(
            &config,
            &QuoteInput {
                head_count: Some(10),
                distance_hundredths: 1200,
                crosses_toll_bridge: true,
                same_day_drives: 2,
                tip_cents: 1000,
                ..QuoteInput::default()
            },
        )
        .expect("priced");
        assert_eq!(
            (
                quote.base_cents,
                quote.mileage_cents,
                quote.daily_drive_discount_cents,
                quote.bridge_toll_cents
            ),
            (4250, 600, 500, 850)
        );
        assert_eq!(quote.delivery_fee_cents, 4250 + 600 - 500 + 850);
        assert_eq!(quote.tip_cents, 1000);
        // CaterValley's own setting: the toll is not charged.
        let cv = calculate(
            &catervalley(true),
            &QuoteInput {
                head_count: Some(10),
                crosses_toll_bridge: true,
                ..QuoteInput::default()
            },
        )
        .expect("priced");
        assert_eq!(cv.bridge_toll_cents, 0);
    }

    #[test]
    fn bad_inputs() {
        let cv = catervalley(true);
        assert_eq!(
            calculate(&cv, &QuoteInput::default()),
            Err(PricingError::NoInputs)
        );
        assert_eq!(
            calculate(
                &cv,
                &QuoteInput {
                    head_count: Some(-1),
                    ..QuoteInput::default()
                }
            ),
            Err(PricingError::Negative("headCount"))
        );
        assert_eq!(
            calculate(
                &cv,
                &QuoteInput {
                    head_count: Some(1),
                    distance_hundredths: -5,
                    ..QuoteInput::default()
                }
            ),
            Err(PricingError::Negative("distance"))
        );
    }
}
