//! Nothing to link: this package exists for its examples and their tests.
