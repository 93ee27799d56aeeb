{#- Fails (one row) unless the model has exactly `expected` rows. -#}
{% test row_count_equals(model, expected) %}

select n_rows
from (select count(*) as n_rows from {{ model }}) as counted
where n_rows != {{ expected }}

{% endtest %}
