/*
 * policy_fc.c - turning the forecasting engine's output (user/model/) into
 * the demand bands a policy decides on, so the daemon and the simulator
 * read forecasts the same way.
 *
 * The forecaster's horizon h counts steps after its newest sample; a
 * decision made now asks for replicas ready start-up time later, i.e.
 * lead = ceil(startup / step) steps after the current step, which is
 * horizon lead + 1 from the newest (completed) sample.  A scale-down must
 * hold from the next step (removal is immediate and a replica asked again
 * is back only at the lead time) through the scale-down window of
 * ceil(300 s / step) steps after the lead time: horizons 1 .. lead + 1 +
 * window.
 */
#include "policy/policy.h"
#include "model/fcast.h"

#include <errno.h>
#include <math.h>

/* ceil(a / b) in steps, saturated at POLICY_STEPS_MAX (never overflows an int sum). */
static int steps_of(double a, double b)
{
	double k = ceil(a / b - 1e-9);

	return k < POLICY_STEPS_MAX ? (int)k : POLICY_STEPS_MAX;
}

int policy_lead_steps(double startup_s, double step_s)
{
	if (!(step_s > 0) || !(startup_s >= 0))
		return 0;
	return steps_of(startup_s, step_s);
}

int policy_window_steps(double step_s)
{
	return step_s > 0 ? steps_of(HPA_DOWN_WINDOW_S, step_s) : 1;
}

void policy_bands(const struct fcast_point *o, int lead, int window, struct policy_band *at,
		  struct policy_band *win)
{
	at->valid = win->valid = true;
	at->point = o[lead].point;
	at->lower = o[lead].lower;
	at->upper = o[lead].upper;
	*win = *at;
	/* From the next step on: replicas removed now are missing at once, and
	 * cannot be back before the lead time. */
	for (int k = 0; k <= lead + window; k++) {
		if (k == lead)
			continue;
		win->point = fmax(win->point, o[k].point);
		win->upper = fmax(win->upper, o[k].upper);
		win->lower = fmin(win->lower, o[k].lower);
	}
}

int policy_forecast_input(struct fcast *f, double coverage, struct policy_input *in)
{
	struct fcast_point o[FCAST_MAX_H];
	int lead = policy_lead_steps(in->startup_s, in->step_s);
	int win = policy_window_steps(in->step_s);
	int err;

	in->fc.valid = in->fc_window.valid = false;
	if (lead + 1 + win > FCAST_MAX_H)
		return -ERANGE;
	err = fcast_forecast(f, lead + 1 + win, coverage, o);
	if (err)
		return err;
	policy_bands(o, lead, win, &in->fc, &in->fc_window);
	return 0;
}
