//! What an import and its alternatives cost: the price table (one file, with where its figures
//! come from and when) and the arithmetic.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One region's prices in US dollars.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
pub struct Prices {
    /// Import from S3, per GB of uncompressed source data processed.
    pub import_per_gb: f64,
    /// On-demand write request units, per million (standard table class).
    pub write_per_million: f64,
    /// Table storage per GB-month (standard table class).
    pub storage_per_gb_month: f64,
}

#[derive(Debug, Deserialize)]
struct Table {
    source: String,
    date: String,
    regions: BTreeMap<String, Prices>,
}

const TABLE: &str = include_str!("prices.json");

fn table() -> Table {
    serde_json::from_str(TABLE).expect("prices.json is part of the build and tested")
}

/// Where the prices of a report come from.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PriceSource {
    pub region: String,
    pub prices: Prices,
    /// "prep's price table (SOURCE, DATE)" or "--price-per-gb".
    pub source: String,
}

/// The prices for `region`, with `import_per_gb` replaced when given. `None` when the table has
/// no such region and no override is given.
pub fn prices(region: &str, import_per_gb: Option<f64>) -> Option<PriceSource> {
    let t = table();
    let listed = t.regions.get(region).copied();
    let origin = format!("prep's price table ({}, {})", t.source, t.date);
    match (listed, import_per_gb) {
        (Some(p), None) => Some(PriceSource {
            region: region.into(),
            prices: p,
            source: origin,
        }),
        (Some(p), Some(g)) => Some(PriceSource {
            region: region.into(),
            prices: Prices {
                import_per_gb: g,
                ..p
            },
            source: format!("--price-per-gb for the import; the rest from {origin}"),
        }),
        (None, Some(g)) => Some(PriceSource {
            region: region.into(),
            prices: Prices {
                import_per_gb: g,
                write_per_million: f64::NAN,
                storage_per_gb_month: f64::NAN,
            },
            source: "--price-per-gb (the table has no prices for this region)".into(),
        }),
        (None, None) => None,
    }
}

/// The regions the table has prices for.
pub(crate) fn regions() -> Vec<String> {
    table().regions.into_keys().collect()
}

/// AWS bills storage and imports by the GB of 2^30 bytes.
pub const GB: f64 = (1u64 << 30) as f64;

/// Write request units of one standard write of an item of `size` bytes: one per KB started.
pub(crate) fn write_units(size: u64) -> u64 {
    size.div_ceil(1024).max(1)
}

/// Bytes DynamoDB adds to every item it stores (and to every index entry) for its indexing.
pub(crate) const STORED_ITEM_OVERHEAD: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_names_its_source() {
        let t = table();
        assert!(t.source.starts_with("https://aws.amazon.com/"));
        assert!(!t.date.is_empty());
        let p = prices("us-east-1", None).unwrap();
        assert_eq!(p.prices.import_per_gb, 0.15);
        assert!(p.source.contains(&t.date));
        for (r, p) in t.regions {
            for v in [p.import_per_gb, p.write_per_million, p.storage_per_gb_month] {
                assert!(v > 0.0 && v < 10.0, "{r}: {v}");
            }
        }
    }

    #[test]
    fn an_override_replaces_the_import_price_only() {
        let p = prices("us-east-1", Some(0.2)).unwrap();
        assert_eq!(p.prices.import_per_gb, 0.2);
        assert_eq!(
            p.prices.write_per_million,
            prices("us-east-1", None).unwrap().prices.write_per_million
        );
        assert!(prices("xx-nowhere-1", None).is_none());
        let p = prices("xx-nowhere-1", Some(0.3)).unwrap();
        assert_eq!(p.prices.import_per_gb, 0.3);
        assert!(p.prices.write_per_million.is_nan());
    }

    #[test]
    fn write_units_are_per_kilobyte_started() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(write_units(409_600), 400);
    }
}
