"""What moves without a click: the kinds of jobs the workers run.

Offers `fan_out` (a session event becomes automatic starts, message deliveries to waiting
instances and webhook deliveries), `delivery` (a webhook POSTed, signed, to its target) and
`kinds` (`job_kinds`: every kind of job with what it runs, its retries and its incident, given
to a `jobs.worker.Worker` where the application is assembled).
"""
