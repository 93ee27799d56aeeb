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

/* One argument's buffer: its name, the item size and format characters it may have, and
 * whether the loop writes to it. */
typedef struct {
    const char *name;
    Py_ssize_t itemsize;
    const char *kinds;
    const char *type;
    int writable;
} Spec;

#define INT32(name, writable) {name, 4, "i", "int32", writable}
#define INT64(name, writable) {name, 8, "lq", "int64", writable}
#define FLOAT64(name, writable) {name, 8, "d", "float64", writable}

static int
typed_buffer(PyObject *obj, Py_buffer *view, Spec spec)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (spec.writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (*format == '=' || *format == '<' || *format == '@') {
        format++;
    }
    if (view->itemsize != spec.itemsize || strlen(format) != 1 ||
        strchr(spec.kinds, *format) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array", spec.name, spec.type);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Every argument's buffer, or none: on failure the ones already taken are released. */
static int
typed_buffers(PyObject **objs, Py_buffer *views, const Spec *specs, int n)
{
    for (int k = 0; k < n; k++) {
        if (typed_buffer(objs[k], &views[k], specs[k]) < 0) {
            for (int j = 0; j < k; j++) {
                PyBuffer_Release(&views[j]);
            }
            return -1;
        }
    }
    return 0;
}

static void
release_buffers(Py_buffer *views, int n)
{
    for (int k = 0; k < n; k++) {
        PyBuffer_Release(&views[k]);
    }
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
    PyObject *objs[] = {classes_obj, negatives_obj, below_obj};
    const Spec specs[] = {INT32("classes", 0), INT64("negatives", 1), INT64("below", 1)};
    Py_buffer views[3];
    if (typed_buffers(objs, views, specs, 3) < 0) {
        return NULL;
    }
    Py_buffer classes = views[0], negatives = views[1], below = views[2];
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
    release_buffers(views, 3);
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
    PyObject *objs[] = {x_obj, y_obj, candidates_obj, kept_obj};
    const Spec specs[] = {FLOAT64("x", 0), FLOAT64("y", 0), INT64("candidates", 0),
                          INT64("kept", 1)};
    Py_buffer views[4];
    if (typed_buffers(objs, views, specs, 4) < 0) {
        return NULL;
    }
    Py_buffer xb = views[0], yb = views[1], cb = views[2], kb = views[3];
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
    release_buffers(views, 4);
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
