//! The numbers a run records per epoch, in the seed's units: NLL in nats per pixel, bits per
//! dimension (nats / ln 2) and nats per image (nats x pixels per image).
//!
//! [`EpochMetrics`] is declared once, by the list at the bottom of this file: the struct, the
//! column names the store reads and writes, and the metrics reruns compare all come from it. A
//! new metric is one line there plus a migration adding the column to `epochs`.

use serde::{Deserialize, Serialize};

/// Converts nats per pixel to bits per dimension.
pub fn bits_per_dim(nats_per_pixel: f64) -> f64 {
    nats_per_pixel / std::f64::consts::LN_2
}

/// A metric column of the `epochs` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// Field of [`EpochMetrics`] and column of `epochs`.
    pub name: &'static str,
    /// Whether reruns compare it: a number the computation determines, not the machine's speed.
    pub deterministic: bool,
}

/// How a metric's value is stored: a nullable `REAL` column. NaN is stored as NULL (SQLite turns
/// NaN into NULL anyway; saying so keeps PostgreSQL, which stores NaN, returning the same thing).
trait Column: Sized {
    fn to_column(&self) -> Option<f64>;
    fn from_column(value: Option<f64>) -> Self;
}

impl Column for f64 {
    fn to_column(&self) -> Option<f64> {
        (!self.is_nan()).then_some(*self)
    }
    fn from_column(value: Option<f64>) -> Self {
        value.unwrap_or(f64::NAN)
    }
}

impl Column for Option<f64> {
    fn to_column(&self) -> Option<f64> {
        self.filter(|v| !v.is_nan())
    }
    fn from_column(value: Option<f64>) -> Self {
        value
    }
}

macro_rules! epoch_metrics {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty, deterministic: $det:literal; )*) => {
        /// Metrics of one finished epoch. `epoch` and `step` identify it; every other field is a
        /// nullable `REAL` column of `epochs` named like the field.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct EpochMetrics {
            /// Epoch number, from 1.
            pub epoch: u32,
            /// Optimisation steps taken since the run began.
            pub step: u64,
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        impl EpochMetrics {
            /// The metric columns, in declaration order (the order of [`EpochMetrics::values`]).
            pub const METRICS: &'static [Metric] =
                &[$( Metric { name: stringify!($name), deterministic: $det } ),*];

            /// The metric values as stored, in the order of [`EpochMetrics::METRICS`] (NaN as `None`).
            pub fn values(&self) -> Vec<Option<f64>> {
                vec![$( Column::to_column(&self.$name) ),*]
            }

            /// Rebuilds an epoch from stored values in the order of [`EpochMetrics::METRICS`]; a
            /// missing value reads as NULL.
            pub fn from_values(epoch: u32, step: u64, values: &[Option<f64>]) -> Self {
                let mut values = values.iter().copied();
                Self { epoch, step, $( $name: Column::from_column(values.next().flatten()), )* }
            }
        }
    };
}

epoch_metrics! {
    /// Mean training NLL over the epoch's pixels (nats/pixel).
    train_nll: f64, deterministic: true;
    /// NLL of the held-out validation split, when the run has one (nats/pixel).
    validation_nll: Option<f64>, deterministic: true;
    /// NLL over every pixel of the test set (an exact mean, not a mean of batch means).
    test_nll: f64, deterministic: true;
    /// Test NLL in bits per dimension.
    test_bits_per_dim: f64, deterministic: true;
    /// Test NLL in nats per image.
    test_nats_per_image: f64, deterministic: true;
    /// Learning rate after the epoch's last step.
    lr: f64, deterministic: true;
    /// Wall time of the epoch (training and evaluation).
    seconds: f64, deterministic: false;
    /// Training throughput, images per second.
    images_per_second: f64, deterministic: false;
}

impl EpochMetrics {
    /// The values a rerun must reproduce, by name: the step count and every deterministic
    /// metric, as stored (`None` for NaN and for an absent validation NLL).
    pub fn deterministic_values(&self) -> Vec<(&'static str, Option<f64>)> {
        let metrics = Self::METRICS.iter().zip(self.values()).filter(|(m, _)| m.deterministic);
        std::iter::once(("step", Some(self.step as f64))).chain(metrics.map(|(m, v)| (m.name, v))).collect()
    }

    /// The same metrics with the machine-dependent columns zeroed: what reruns compare bit for bit.
    pub fn without_timing(&self) -> Self {
        let values: Vec<Option<f64>> = Self::METRICS
            .iter()
            .zip(self.values())
            .map(|(m, v)| if m.deterministic { v } else { Some(0.0) })
            .collect();
        Self::from_values(self.epoch, self.step, &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EpochMetrics {
        EpochMetrics {
            epoch: 3,
            step: 30,
            train_nll: 0.25,
            validation_nll: None,
            test_nll: 0.5,
            test_bits_per_dim: bits_per_dim(0.5),
            test_nats_per_image: 0.5 * 784.0,
            lr: 1e-3,
            seconds: 2.5,
            images_per_second: 40.0,
        }
    }

    #[test]
    fn the_column_list_names_every_serialised_metric_in_order() {
        let json = serde_json::to_value(sample()).unwrap();
        let fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = vec!["epoch", "step"];
        expected.extend(EpochMetrics::METRICS.iter().map(|m| m.name));
        let mut sorted = expected.clone();
        sorted.sort_unstable();
        assert_eq!(fields, sorted, "serde_json sorts keys");
        assert_eq!(EpochMetrics::METRICS.len(), sample().values().len());
    }

    #[test]
    fn values_round_trip_with_nan_as_null() {
        let mut m = sample();
        m.train_nll = f64::NAN;
        m.validation_nll = Some(0.75);
        let values = m.values();
        assert_eq!(values[0], None, "NaN is stored as NULL");
        let back = EpochMetrics::from_values(m.epoch, m.step, &values);
        assert!(back.train_nll.is_nan());
        assert_eq!(back.without_timing().validation_nll, Some(0.75));
        assert_eq!(EpochMetrics { train_nll: 0.25, ..back }, EpochMetrics { train_nll: 0.25, ..m });
    }

    #[test]
    fn timing_is_neither_compared_nor_kept_by_without_timing() {
        let m = sample();
        let names: Vec<&str> = m.deterministic_values().iter().map(|(n, _)| *n).collect();
        assert_eq!(names[0], "step");
        assert!(names.contains(&"test_nll") && names.contains(&"validation_nll"));
        assert!(!names.contains(&"seconds") && !names.contains(&"images_per_second"));
        let zeroed = m.without_timing();
        assert_eq!((zeroed.seconds, zeroed.images_per_second), (0.0, 0.0));
        assert_eq!(zeroed.test_nll, m.test_nll);
    }
}
