-- The logged requests whose outcome label has arrived: the rows the realized performance is
-- computed on, per day (day_key), by the evaluation's engine.
select * from {{ ref('monitoring_requests') }}
where label is not null
