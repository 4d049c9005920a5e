//! A backend's [`Description`], read off its trait: what its binary prints
//! for `--describe`.

use crate::{Backend, Description};

/// Backend `B`'s description, its needs checked now.
pub fn describe<B: Backend>() -> Description {
    Description {
        name: B::NAME.to_owned(),
        flavors: B::FLAVORS.to_vec(),
        about: B::FLAVORS.iter().map(|&f| B::about(f).to_owned()).collect(),
        hand_off: B::HAND_OFF,
        max_workers: B::MAX_WORKERS,
        substrate: B::SUBSTRATE.iter().map(|&c| c.to_owned()).collect(),
        needs: B::needs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Flavor, Sequential};

    #[test]
    fn the_baselines_own_and_strict_parsing() {
        let d = describe::<Sequential>();
        assert_eq!((d.name.as_str(), d.max_workers, d.unmet()), ("sequential", Sequential::MAX_WORKERS, None));
        assert!(d.runs(Flavor::Tuned));
        assert!(Description::parse("{}").is_err());
        let extra = d.to_line().replacen('{', r#"{"colour":1,"#, 1);
        assert!(Description::parse(&extra).is_err(), "unknown fields are refused");
    }
}
