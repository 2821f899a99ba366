"""The results runners: Table 1 (table1, jobs, profiles, table1_docs + table1_sections) and
DBP-5L (dbp5l, dbp5l_jobs, dbp5l_profiles, dbp5l_results, dbp5l_docs); docs/architecture.md
lists every module."""
