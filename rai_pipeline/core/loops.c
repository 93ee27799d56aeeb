/*
 * rai_pipeline.core.loops: the project's loops that NumPy cannot vectorise, compiled by the
 * install (rai_pipeline.core.compiled loads them; each caller keeps a NumPy or Python path that
 * gives the same numbers where no C compiler built them).
 *
 * count_below (rai_pipeline.core.engine.cell_pairs): count_below(classes, n_cells, negatives,
 * below) walks rows in score order, each given as its
 * class (cell + n_cells * label): a negative of cell b adds one to negatives[b]; a positive of
 * cell a adds the running negatives of every cell to row a of below. below[a][b] is then the
 * number of (positive of a, negative of b) pairs with the negative earlier in the walk, on top
 * of what the arrays held before (batches continue the same walk).
 *
 * classes: C-contiguous int32; negatives: writable int64[n_cells]; below: writable
 * int64[n_cells * n_cells], row-major. The loop runs without the GIL, so a thread counts one
 * batch while the engine hands over the next.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int
typed_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *kinds, int writable,
             const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (*format == '=' || *format == '<' || *format == '@') {
        format++;
    }
    if (view->itemsize != itemsize || strlen(format) != 1 || strchr(kinds, *format) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous array of %zd-byte integers",
                     name, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *
count_below(PyObject *self, PyObject *args)
{
    PyObject *classes_obj, *negatives_obj, *below_obj;
    Py_ssize_t n_cells;
    if (!PyArg_ParseTuple(args, "OnOO", &classes_obj, &n_cells, &negatives_obj, &below_obj)) {
        return NULL;
    }
    if (n_cells < 1) {
        PyErr_SetString(PyExc_ValueError, "n_cells must be at least 1");
        return NULL;
    }
    Py_buffer classes, negatives, below;
    if (typed_buffer(classes_obj, &classes, 4, "i", 0, "classes") < 0) {
        return NULL;
    }
    if (typed_buffer(negatives_obj, &negatives, 8, "lq", 1, "negatives") < 0) {
        PyBuffer_Release(&classes);
        return NULL;
    }
    if (typed_buffer(below_obj, &below, 8, "lq", 1, "below") < 0) {
        PyBuffer_Release(&classes);
        PyBuffer_Release(&negatives);
        return NULL;
    }
    PyObject *result = NULL;
    if (negatives.len != n_cells * 8 || below.len != n_cells * n_cells * 8) {
        PyErr_SetString(PyExc_ValueError, "negatives must hold n_cells and below n_cells^2 counts");
        goto done;
    }
    const int32_t *cls = (const int32_t *)classes.buf;
    int64_t *neg = (int64_t *)negatives.buf;
    int64_t *pairs = (int64_t *)below.buf;
    const Py_ssize_t rows = classes.len / 4;
    const int32_t n = (int32_t)n_cells;
    Py_ssize_t bad = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < rows; i++) {
        const int32_t c = cls[i];
        if (c >= 0 && c < n) {
            neg[c] += 1;
        }
        else if (c >= n && c < 2 * n) {
            int64_t *row = pairs + (Py_ssize_t)(c - n) * n;
            for (int32_t b = 0; b < n; b++) {
                row[b] += neg[b];
            }
        }
        else {
            bad = i;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "row %zd: class %d outside [0, %zd)", bad, (int)cls[bad],
                     2 * n_cells);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&classes);
    PyBuffer_Release(&negatives);
    PyBuffer_Release(&below);
    return result;
}

/*
 * upper_hull (rai_pipeline.core.metrics.mitigation): upper_hull(x, y, candidates, kept) is
 * Andrew's monotone chain over the points (x[i], y[i]) of candidates (indices in increasing x,
 * one per x): a point on or below the chord of its neighbours on the chain is dropped. Writes
 * the kept indices to the start of kept (int64, as long as candidates) and returns how many.
 * The test is the same expression, in the same order, as the Python chain's, on the same
 * doubles (no contraction into fused multiply-adds: -ffp-contract=off), so both keep the same
 * points.
 */
static PyObject *
upper_hull(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *y_obj, *candidates_obj, *kept_obj;
    if (!PyArg_ParseTuple(args, "OOOO", &x_obj, &y_obj, &candidates_obj, &kept_obj)) {
        return NULL;
    }
    Py_buffer xb, yb, cb, kb;
    if (typed_buffer(x_obj, &xb, 8, "d", 0, "x") < 0) {
        return NULL;
    }
    if (typed_buffer(y_obj, &yb, 8, "d", 0, "y") < 0) {
        PyBuffer_Release(&xb);
        return NULL;
    }
    if (typed_buffer(candidates_obj, &cb, 8, "lq", 0, "candidates") < 0) {
        PyBuffer_Release(&xb);
        PyBuffer_Release(&yb);
        return NULL;
    }
    if (typed_buffer(kept_obj, &kb, 8, "lq", 1, "kept") < 0) {
        PyBuffer_Release(&xb);
        PyBuffer_Release(&yb);
        PyBuffer_Release(&cb);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t points = xb.len / 8, count = cb.len / 8;
    if (yb.len != xb.len || kb.len < cb.len) {
        PyErr_SetString(PyExc_ValueError, "y must match x, and kept hold every candidate");
        goto done;
    }
    const double *xs = (const double *)xb.buf, *ys = (const double *)yb.buf;
    const int64_t *order = (const int64_t *)cb.buf;
    int64_t *kept = (int64_t *)kb.buf;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (order[k] < 0 || order[k] >= points) {
            PyErr_Format(PyExc_ValueError, "candidate %zd: index %lld outside the points", k,
                         (long long)order[k]);
            goto done;
        }
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        const int64_t i = order[k];
        while (n >= 2) {
            const int64_t a = kept[n - 2], b = kept[n - 1];
            if ((ys[b] - ys[a]) * (xs[i] - xs[a]) <= (ys[i] - ys[a]) * (xs[b] - xs[a])) {
                n--;
            }
            else {
                break;
            }
        }
        kept[n++] = i;
    }
    result = PyLong_FromSsize_t(n);
done:
    PyBuffer_Release(&xb);
    PyBuffer_Release(&yb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&kb);
    return result;
}

static PyMethodDef methods[] = {
    {"count_below", count_below, METH_VARARGS,
     "count_below(classes, n_cells, negatives, below): add the walk's pairs to below."},
    {"upper_hull", upper_hull, METH_VARARGS,
     "upper_hull(x, y, candidates, kept) -> int: the monotone chain's kept indices."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "loops",
    "The project's loops that NumPy cannot vectorise, compiled by the install.", -1, methods,
};

PyMODINIT_FUNC
PyInit_loops(void)
{
    return PyModule_Create(&module);
}
