"""Function metadata: one interface (`base.Store`), two back ends (Redis, embedded SQLite)."""
