//! Runs effects.
