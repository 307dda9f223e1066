pub mod app;
pub mod clock;
pub mod model;
pub mod tui;
pub mod ui;
