"""The operations API (issue 17): the seeds' task endpoints, API keys, Prometheus metrics.

It talks to Dagster only through the webserver's GraphQL API (DAGSTER_GRAPHQL_URL); see README.md
"Operations API" and `platformctl api serve`.
"""
