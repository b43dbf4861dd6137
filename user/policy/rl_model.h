/*
 * rl_model.h - the RL policy's weights and their model file (not a public
 * API; policy.h has policy_rl_save/policy_rl_average for users).
 *
 * Model file, layout version 3 (text, whitespace separated):
 *   presage-rl 3 A F T N
 *   the A action margins (must equal this build's rl_margin[])
 *   the A per-action biases
 *   (A + 1) * F * T * N weights: one row per action, the shared row last
 * A actions, F state features, T tilings of N tiles.  Version 2 files
 * (margins 0..2, no margin line) are refused: their actions mean other
 * margins, so their values would be applied to the wrong choices.
 */
#ifndef PRESAGE_POLICY_RL_MODEL_H
#define PRESAGE_POLICY_RL_MODEL_H

#define RL_MODEL_VERSION 3
#define RL_ACTIONS	 5
#define RL_FEATURES	 6
#define RL_TILINGS	 4
#define RL_TILES	 8
#define RL_NW		 ((RL_ACTIONS + 1) * RL_FEATURES * RL_TILINGS * RL_TILES)
#define RL_SHARED	 RL_ACTIONS	  /* row of w shared by every action: the state value */
#define RL_PREDICTIVE	 (RL_ACTIONS - 1) /* the action with margin 1.0 */

/* Margin z of each action: the band provisioned is point + z (upper - point). */
extern const double rl_margin[RL_ACTIONS];

struct rl_weights {
	double bias[RL_ACTIONS];
	double w[RL_ACTIONS + 1][RL_FEATURES][RL_TILINGS][RL_TILES];
};

/* The compiled-in weights (policy/rl_default.inc, written by the trainer). */
void rl_weights_default(struct rl_weights *q);

/*
 * Load a model file into *q (left unchanged on error): 0, -errno when it
 * cannot be opened, -ENOMSG for a presage-rl file of another layout
 * version, -EBADMSG when garbled, truncated, non-finite, of other
 * dimensions or margins, or followed by anything but white space.
 */
int rl_weights_load(struct rl_weights *q, const char *path);

/*
 * Write *q to path atomically (state_write_atomic: temp file, fsync,
 * rename; mode 0600); 0 or -errno.
 */
int rl_weights_save(const struct rl_weights *q, const char *path);

#endif
