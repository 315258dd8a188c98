//! Tally server: the REST API and the scheduler.
