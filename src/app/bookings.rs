//! Bookings' use cases.
