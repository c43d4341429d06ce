//! Simulated backend: written by the lead.
