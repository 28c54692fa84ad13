//! One integration-test binary: every test starts the real server on a
//! random port over its own SQLite file and talks to it over HTTP.

mod helpers;

mod access;
mod audit;
mod auth;
mod bulk;
mod changes;
mod changes_race;
mod collections;
mod conditional;
mod contract;
mod course_components;
mod credentials;
mod cursor;
mod edge;
mod errors;
mod extensions;
mod idempotency;
mod idp;
mod import;
mod keys;
mod logs;
mod nulls;
mod operations;
mod problems;
mod query;
mod reference;
mod reference_bodies;
mod reference_routes;
mod reference_walk;
mod references_exist;
mod relations;
mod revocation;
mod schemas;
mod shapes;
mod users;
mod views;
mod webhooks;
