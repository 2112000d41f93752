//! What people look at rather than read: README badges (and, next, the dashboard page).

pub mod badge;
