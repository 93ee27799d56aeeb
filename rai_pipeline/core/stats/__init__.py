"""Statistical methods, free of any data source: score intervals for rates and for comparisons
of rates, the p-values of the claims an interval makes, bootstrap streams, multiple testing.

Modules here take counts and levels and return numbers; they import only numpy and the
standard library.
"""
