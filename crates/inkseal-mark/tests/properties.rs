//! Property tests (fixed seeds via proptest's deterministic runner configuration).

use inkseal_mark::{Key, WorkId};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0121_5ea1),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn work_ids_round_trip_through_text(id in any::<u64>()) {
        let text = WorkId(id).to_string();
        prop_assert_eq!(text.len(), 16);
        prop_assert_eq!(text.parse::<WorkId>().ok(), Some(WorkId(id)));
        prop_assert_eq!(text.to_uppercase().parse::<WorkId>().ok(), Some(WorkId(id)));
    }

    #[test]
    fn keys_round_trip_through_key_files(bytes in any::<[u8; 32]>()) {
        let key = Key::from_bytes(bytes);
        prop_assert_eq!(Key::from_text(&key.to_text()).ok(), Some(key));
    }

    #[test]
    fn garbage_never_parses_as_a_work_id(s in "[^0-9a-fA-F]{0,20}") {
        prop_assert!(s.parse::<WorkId>().is_err());
    }
}
