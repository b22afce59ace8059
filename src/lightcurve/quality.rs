//! Which cadences a quality flag condemns.
//!
//! The default masks are lightkurve's "default" bitmasks: the flags that mark cadences
//! that are definitely useless, and none of the flags that also mark good data (cosmic
//! rays in the collateral pixels, stray light, possible thruster firings), whose cadences
//! a transit search still wants.
//!
//! Kepler and K2 (Kepler Archive Manual, table 2-3), 1,130,799:
//! bit 1 attitude tweak, 2 safe mode, 3 coarse point, 4 Earth point, 6 reaction-wheel
//! desaturation, 9 manual exclude, 15 detector anomaly, 17 no data, 21 thruster firing
//! (K2's 6-hour roll correction: the cadences during the firing are smeared).
//!
//! TESS (Science Data Products Description, table 28), 17,087:
//! bit 1 attitude tweak, 2 safe mode, 3 coarse point, 4 Earth point, 5 Argabrightening,
//! 6 desaturation, 8 manual exclude, 10 impulsive outlier, 15 bad calibration.
//!
//! The two missions number their flags differently (Kepler's bit 8 is a cosmic ray, TESS's
//! a manual exclude), so the mask follows the file's MISSION/TELESCOP keyword. A file that
//! names neither (a text table with a quality column) gets the bits both missions share in
//! meaning: attitude tweak, safe mode, coarse point, Earth point, desaturation (47).

use std::fmt;
use std::str::FromStr;

const KEPLER_DEFAULT: u32 = 1 | 2 | 4 | 8 | 32 | 256 | 16384 | 65536 | 1048576;
const TESS_DEFAULT: u32 = 1 | 2 | 4 | 8 | 16 | 32 | 128 | 512 | 16384;
const SHARED_DEFAULT: u32 = 1 | 2 | 4 | 8 | 32;

/// Which quality flags drop a cadence: `default`, `none`, `hardest` (any flag) or a
/// bitmask given as an integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QualityMask {
    /// lightkurve's default for the file's mission (see the module's notes).
    #[default]
    Default,
    /// Keep every cadence whatever its flags (non-finite values are still dropped).
    None,
    /// Drop every cadence with any flag set.
    Hardest,
    /// Drop cadences with any of these bits set.
    Bits(u32),
}

impl QualityMask {
    /// The bits that drop a cadence of a file of `mission` ("Kepler", "K2", "TESS").
    pub fn bits(self, mission: Option<&str>) -> u32 {
        match self {
            QualityMask::Default => match mission {
                Some("Kepler") | Some("K2") => KEPLER_DEFAULT,
                Some("TESS") => TESS_DEFAULT,
                _ => SHARED_DEFAULT,
            },
            QualityMask::None => 0,
            QualityMask::Hardest => u32::MAX,
            QualityMask::Bits(bits) => bits,
        }
    }
}

impl FromStr for QualityMask {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(QualityMask::Default),
            "none" => Ok(QualityMask::None),
            "hardest" => Ok(QualityMask::Hardest),
            other => other.parse::<u32>().map(QualityMask::Bits).map_err(|_| {
                format!("\"{s}\" is not a quality mask: use default, none, hardest, or a bitmask as an integer (e.g. 175)")
            }),
        }
    }
}

impl fmt::Display for QualityMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QualityMask::Default => f.write_str("default"),
            QualityMask::None => f.write_str("none"),
            QualityMask::Hardest => f.write_str("hardest"),
            QualityMask::Bits(bits) => write!(f, "{bits}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_masks_are_lightkurves() {
        assert_eq!(QualityMask::Default.bits(Some("Kepler")), 1_130_799);
        assert_eq!(QualityMask::Default.bits(Some("K2")), 1_130_799);
        assert_eq!(QualityMask::Default.bits(Some("TESS")), 17_087);
        assert_eq!(QualityMask::Default.bits(None), 47);
    }

    #[test]
    fn parses_names_and_integers() {
        assert_eq!("hardest".parse::<QualityMask>(), Ok(QualityMask::Hardest));
        assert_eq!(" None".parse::<QualityMask>(), Ok(QualityMask::None));
        assert_eq!("175".parse::<QualityMask>(), Ok(QualityMask::Bits(175)));
        assert!("soft".parse::<QualityMask>().unwrap_err().contains("not a quality mask"));
        assert_eq!(QualityMask::Bits(175).to_string(), "175");
    }
}
