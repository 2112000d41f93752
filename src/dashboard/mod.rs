//! What people look at rather than read: README badges and the dashboard page.

pub mod badge;
pub mod page;
