use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The unit of a measured value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Unit {
    /// A plain number (count, replicas, requests).
    #[default]
    Count,
    /// Percent, 0–100.
    Percent,
    /// A ratio, 0–1.
    Ratio,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Days.
    Days,
    /// Degrees Celsius.
    Celsius,
    /// Watts.
    Watts,
}

impl Unit {
    /// The suffix used when printing a value ("%", "ms", ...).
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Count => "",
            Unit::Percent => "%",
            Unit::Ratio => "",
            Unit::Milliseconds => "ms",
            Unit::Seconds => "s",
            Unit::Bytes => "B",
            Unit::Days => "d",
            Unit::Celsius => "°C",
            Unit::Watts => "W",
        }
    }

    /// The Prometheus base-unit name suffix ("ratio", "seconds", "bytes", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Percent => "percent",
            Unit::Ratio => "ratio",
            Unit::Milliseconds => "milliseconds",
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Days => "days",
            Unit::Celsius => "celsius",
            Unit::Watts => "watts",
        }
    }

    /// Converts `value` from `self` into `to`, when both measure the same quantity.
    ///
    /// # Errors
    /// [`ModelError::Parse`] when the units measure different things (percent vs bytes).
    pub fn convert(self, value: f64, to: Unit) -> Result<f64, ModelError> {
        if self == to {
            return Ok(value);
        }
        let secs = |u: Unit| match u {
            Unit::Milliseconds => Some(0.001),
            Unit::Seconds => Some(1.0),
            Unit::Days => Some(86_400.0),
            _ => None,
        };
        let frac = |u: Unit| match u {
            Unit::Percent => Some(0.01),
            Unit::Ratio => Some(1.0),
            _ => None,
        };
        if let (Some(a), Some(b)) = (secs(self), secs(to)) {
            return Ok(value * a / b);
        }
        if let (Some(a), Some(b)) = (frac(self), frac(to)) {
            return Ok(value * a / b);
        }
        Err(ModelError::Parse {
            what: "unit",
            input: format!("{self} -> {to}"),
            reason: "units measure different quantities".into(),
        })
    }

    /// Formats a value with this unit: `85%`, `500ms`, `0.1%`, `7d`.
    pub fn format(self, value: f64) -> String {
        let v = if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{value:.0}")
        } else {
            format!("{}", (value * 1000.0).round() / 1000.0)
        };
        format!("{v}{}", self.suffix())
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a value goes bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Higher is worse (utilization, latency, error rate).
    #[default]
    Ceiling,
    /// Lower is worse (days of certificate validity, free disk).
    Floor,
}

/// The result of evaluating a value against a [`Threshold`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Inside the healthy bound.
    Ok,
    /// Between the healthy and the breach bound.
    Warn,
    /// Beyond the breach bound: take the action.
    Breach,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Breach => "breach",
        })
    }
}

/// A capacity threshold: a metric, its healthy bound ("Current" column), its breach bound
/// ("Threshold" column) and the action to take on breach.
///
/// ```
/// use nexus_readiness::model::{Level, Threshold, Unit};
///
/// let gpu = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up")?;
/// assert_eq!(gpu.evaluate(60.0).level, Level::Ok);
/// assert_eq!(gpu.evaluate(80.0).level, Level::Warn);
/// let e = gpu.evaluate(90.0);
/// assert_eq!(e.level, Level::Breach);
/// assert_eq!(e.action.as_deref(), Some("Scale up"));
/// # Ok::<(), nexus_readiness::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Threshold {
    /// Metric name as written ("GPU Utilization").
    pub metric: String,
    /// Unit of `healthy` and `breach`.
    pub unit: Unit,
    /// Which way the value goes bad.
    pub direction: Direction,
    /// Values strictly better than this are healthy.
    pub healthy: f64,
    /// Values strictly worse than this breach.
    pub breach: f64,
    /// What to do on breach ("Scale up").
    pub action: String,
    /// The breach counts only when sustained this long.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::duration::option")]
    pub sustain: Option<Duration>,
}

impl Threshold {
    /// A threshold where higher values are worse.
    ///
    /// # Errors
    /// [`ModelError::InvalidThreshold`] when `healthy > breach` or a bound is not finite.
    pub fn ceiling(
        metric: impl Into<String>,
        unit: Unit,
        healthy: f64,
        breach: f64,
        action: impl Into<String>,
    ) -> Result<Self, ModelError> {
        Self::new(metric, unit, Direction::Ceiling, healthy, breach, action)
    }

    /// A threshold where lower values are worse.
    ///
    /// # Errors
    /// [`ModelError::InvalidThreshold`] when `healthy < breach` or a bound is not finite.
    pub fn floor(
        metric: impl Into<String>,
        unit: Unit,
        healthy: f64,
        breach: f64,
        action: impl Into<String>,
    ) -> Result<Self, ModelError> {
        Self::new(metric, unit, Direction::Floor, healthy, breach, action)
    }

    /// A threshold in either direction.
    ///
    /// # Errors
    /// [`ModelError::InvalidThreshold`] when the bounds contradict the direction.
    pub fn new(
        metric: impl Into<String>,
        unit: Unit,
        direction: Direction,
        healthy: f64,
        breach: f64,
        action: impl Into<String>,
    ) -> Result<Self, ModelError> {
        let t =
            Threshold { metric: metric.into(), unit, direction, healthy, breach, action: action.into(), sustain: None };
        t.validate()?;
        Ok(t)
    }

    /// Requires the breach to be sustained for `window`.
    pub fn sustained(mut self, window: Duration) -> Self {
        self.sustain = Some(window);
        self
    }

    /// Checks the bounds are finite and on the right side of each other.
    ///
    /// # Errors
    /// [`ModelError::InvalidThreshold`] saying which bound is wrong.
    pub fn validate(&self) -> Result<(), ModelError> {
        let err = |reason: String| ModelError::InvalidThreshold { metric: self.metric.clone(), reason };
        if self.metric.trim().is_empty() {
            return Err(err("the metric name is empty".into()));
        }
        if !self.healthy.is_finite() || !self.breach.is_finite() {
            return Err(err("bounds must be finite numbers".into()));
        }
        match self.direction {
            Direction::Ceiling if self.healthy > self.breach => Err(err(format!(
                "healthy bound < {} is above the breach bound > {} (higher values are worse)",
                self.unit.format(self.healthy),
                self.unit.format(self.breach)
            ))),
            Direction::Floor if self.healthy < self.breach => Err(err(format!(
                "healthy bound > {} is below the breach bound < {} (lower values are worse)",
                self.unit.format(self.healthy),
                self.unit.format(self.breach)
            ))),
            _ => Ok(()),
        }
    }

    /// Evaluates a value given in this threshold's unit.
    ///
    /// A ceiling is Ok below `healthy`, Breach above `breach`, Warn in between (bounds
    /// included); a floor mirrors it. NaN is a Breach: a metric that cannot be read is not
    /// healthy.
    pub fn evaluate(&self, value: f64) -> Evaluation {
        let level = if value.is_nan() {
            Level::Breach
        } else {
            match self.direction {
                Direction::Ceiling if value < self.healthy => Level::Ok,
                Direction::Ceiling if value > self.breach => Level::Breach,
                Direction::Floor if value > self.healthy => Level::Ok,
                Direction::Floor if value < self.breach => Level::Breach,
                _ => Level::Warn,
            }
        };
        Evaluation {
            metric: self.metric.clone(),
            value,
            unit: self.unit,
            level,
            healthy: self.healthy,
            breach: self.breach,
            direction: self.direction,
            action: (!self.action.trim().is_empty()).then(|| self.action.clone()),
        }
    }

    /// Evaluates a value given in another unit of the same quantity (seconds for a
    /// milliseconds threshold, a ratio for a percent threshold).
    ///
    /// # Errors
    /// [`ModelError::Parse`] when `unit` cannot be converted into the threshold's unit.
    pub fn evaluate_in(&self, value: f64, unit: Unit) -> Result<Evaluation, ModelError> {
        Ok(self.evaluate(unit.convert(value, self.unit)?))
    }

    /// The healthy bound as written in the source table ("< 70%").
    pub fn healthy_text(&self) -> String {
        format!("{} {}", self.better_op(), self.unit.format(self.healthy))
    }

    /// The breach bound as written in the source table ("> 85%").
    pub fn breach_text(&self) -> String {
        format!("{} {}", self.worse_op(), self.unit.format(self.breach))
    }

    fn better_op(&self) -> &'static str {
        match self.direction {
            Direction::Ceiling => "<",
            Direction::Floor => ">",
        }
    }

    fn worse_op(&self) -> &'static str {
        match self.direction {
            Direction::Ceiling => ">",
            Direction::Floor => "<",
        }
    }
}

/// A value evaluated against a [`Threshold`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evaluation {
    /// The threshold's metric.
    pub metric: String,
    /// The value, in `unit`.
    pub value: f64,
    /// Unit of value and bounds.
    pub unit: Unit,
    /// Ok, Warn or Breach.
    pub level: Level,
    /// The healthy bound.
    pub healthy: f64,
    /// The breach bound.
    pub breach: f64,
    /// Which way the value goes bad.
    pub direction: Direction,
    /// The threshold's action ("Scale up"): what to do on a breach, carried at every level
    /// so a report's threshold table always names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (better, worse) = match self.direction {
            Direction::Ceiling => ("<", ">"),
            Direction::Floor => (">", "<"),
        };
        write!(f, "{} {}: {}", self.metric, self.unit.format(self.value), self.level)?;
        match self.level {
            Level::Ok => write!(f, " (healthy {better} {})", self.unit.format(self.healthy)),
            Level::Warn => write!(
                f,
                " (healthy {better} {}, breach {worse} {})",
                self.unit.format(self.healthy),
                self.unit.format(self.breach)
            ),
            Level::Breach => write!(f, " ({worse} {})", self.unit.format(self.breach)),
        }?;
        if let (Level::Breach, Some(a)) = (self.level, &self.action) {
            write!(f, ": {a}")?;
        }
        Ok(())
    }
}
