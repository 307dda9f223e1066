//! Terminal edges.
