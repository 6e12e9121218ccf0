"""Storage: the tables, the units of work, the queries they share, and the migrations."""
