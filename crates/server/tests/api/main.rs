//! One integration-test binary: every test starts the real server on a
//! random port over its own SQLite file and talks to it over HTTP.

mod helpers;

mod access;
mod auth;
mod collections;
mod contract;
mod course_components;
mod cursor;
mod edge;
mod errors;
mod idp;
mod import;
mod logs;
mod query;
mod revocation;
mod schemas;
mod users;
mod views;
