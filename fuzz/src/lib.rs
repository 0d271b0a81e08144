//! Shared property checks of the fuzz targets (also replayed by CI from
//! `tests/integration/hostile/`).

pub mod props;
