//! The delivery-fee engine. Pricing is data: a configuration (tiers, mileage rate,
//! distance threshold, minimum, toll rule) is a versioned row set in the database, loaded
//! and cached here for five minutes; [`calculate`] is pure integer arithmetic on it.
//!
//! Money is integer cents and distance integer hundredths of a mile; no float touches a
//! price. JSON shows dollars ([`dollars`]) where existing clients expect them.
//!
//! The rule: find the tier by head count and the tier by food cost and charge the lesser
//! fee (a tie goes to the head-count tier; a fee of zero or one that cannot be determined
//! loses; with one input, that one's tier). At or under the threshold the tier's *within*
//! fee applies; beyond it, the *beyond* fee (or the within fee, when the configuration
//! says so) plus the mileage rate for every mile over the threshold. The minimum applies
//! to the tier fee. A bridge toll is added when the configuration charges it.
//!
//! - `fee`: the pure calculation ([`calculate`]); `config`: the configuration model and
//!   its cache ([`PricingCache`]); `load`: reading the active version ([`load_active`]).
//! - [`quote`]: pricing a caller's request and recording the quote; [`publish`]: new
//!   versions of a configuration.

mod config;
mod fee;
mod load;
pub mod publish;
pub mod quote;

pub use self::{
    config::{PricingCache, PricingConfig, Tier, CACHE_TTL},
    fee::{calculate, PricingError, Quote, QuoteInput},
    load::load_active,
};
pub use crate::geo::crosses_toll_bridge;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toll_bridges() {
        assert!(crosses_toll_bridge("San Francisco", "San Jose", None, None));
        assert!(crosses_toll_bridge(
            "Sausalito",
            "Berkeley",
            Some("Marin County"),
            None
        ));
        assert!(!crosses_toll_bridge(
            "San Francisco",
            "san francisco",
            None,
            None
        ));
        assert!(!crosses_toll_bridge(
            "San Jose",
            "Palo Alto",
            Some("Santa Clara"),
            None
        ));
    }
}
