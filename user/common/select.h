/*
 * select.h - order statistics of a scratch array.
 */
#ifndef PRESAGE_SELECT_H
#define PRESAGE_SELECT_H

/*
 * The k-th smallest (0-based) of v[0..n), n > 0, 0 <= k < n, by quickselect
 * with Hoare partitioning: O(n) expected, v is reordered.  No NaN in v.
 */
double select_kth(double *v, int n, int k);

#endif
