"""Wrong answers for chapter 03's exercises (format: tests/wrong_answers/__init__.py)."""

_SWAPPED_CELL = '''
def gru_cell_swapped(X_t, H_prev, q):
    R_t = torch.sigmoid(X_t @ q.W_xr.T + q.b_xr + H_prev @ q.W_hr.T + q.b_hr)
    U_t = torch.sigmoid(X_t @ q.W_xu.T + q.b_xu + H_prev @ q.W_hu.T + q.b_hu)
    n_t = torch.tanh(X_t @ q.W_xn.T + q.b_xn + R_t * (H_prev @ q.W_hn.T + q.b_hn))
    return (1 - U_t) * H_prev + U_t * n_t
'''

_UNCHANGED_WEIGHTS = '''

def swapped_weights(p):
    q = types.SimpleNamespace(**vars(p))
    for name in ("W_xz", "W_hz", "b_xz", "b_hz"):
        delattr(q, name)
    q.W_xu, q.W_hu, q.b_xu, q.b_hu = p.W_xz, p.W_hz, p.b_xz, p.b_hz
    return q
'''

_OPEN = '''
def make_agree_open(module):
    n = module.hidden_size
    with torch.no_grad():
        module.weight_ih_l0[0:n] = 0.0
        module.weight_hh_l0[0:n] = 0.0
        module.bias_ih_l0[0:n] = 30.0
        module.bias_hh_l0[0:n] = 0.0
    return module
'''

_UNIFORM = '''

def make_agree_uniform(module):
    n = module.hidden_size
    with torch.no_grad():
        module.weight_ih_l0[0:n] = 0.0
        module.weight_hh_l0[0:n] = 0.0
        module.bias_ih_l0[0:n] = 0.0
        module.bias_hh_l0[0:n] = 0.0
        module.bias_hh_l0[2 * n:3 * n] = 0.0
    return module
'''

WRONG_ANSWERS = {
    1: {
        "a single unidirectional layer": '''
def gru_param_count(input_size, hidden_size):
    return 3 * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)
''',
        "layer 2 reads input_size features": '''
def gru_param_count(input_size, hidden_size):
    per_direction = 3 * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)
    return 2 * 2 * per_direction
''',
        "forgot the second direction": '''
def gru_param_count(input_size, hidden_size):
    layer_1 = 3 * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)
    layer_2 = 3 * (hidden_size * 2 * hidden_size + hidden_size * hidden_size + 2 * hidden_size)
    return layer_1 + layer_2
''',
    },
    2: {
        "no swap at all: U plays Z's role": '''
def gru_cell_swapped(X_t, H_prev, q):
    R_t = torch.sigmoid(X_t @ q.W_xr.T + q.b_xr + H_prev @ q.W_hr.T + q.b_hr)
    U_t = torch.sigmoid(X_t @ q.W_xu.T + q.b_xu + H_prev @ q.W_hu.T + q.b_hu)
    n_t = torch.tanh(X_t @ q.W_xn.T + q.b_xn + R_t * (H_prev @ q.W_hn.T + q.b_hn))
    return U_t * H_prev + (1 - U_t) * n_t
''' + _UNCHANGED_WEIGHTS,
        "negated the weights but not the biases": _SWAPPED_CELL + '''

def swapped_weights(p):
    q = types.SimpleNamespace(**vars(p))
    for name in ("W_xz", "W_hz", "b_xz", "b_hz"):
        delattr(q, name)
    q.W_xu, q.W_hu, q.b_xu, q.b_hu = -p.W_xz, -p.W_hz, p.b_xz, p.b_hz
    return q
''',
        "right cell, z weights copied unchanged": _SWAPPED_CELL + _UNCHANGED_WEIGHTS,
    },
    3: {
        "'open' by zeroing the candidate's recurrence": '''
def make_agree_open(module):
    n = module.hidden_size
    with torch.no_grad():
        module.weight_hh_l0[2 * n:3 * n] = 0.0
        module.bias_hh_l0[2 * n:3 * n] = 0.0
    return module
''' + _UNIFORM,
        "reset bias +3 is not open enough": _OPEN.replace("= 30.0", "= 3.0") + _UNIFORM,
        "R = 0.5 but the candidate's b_hn kept": _OPEN + _UNIFORM.replace(
            "        module.bias_hh_l0[2 * n:3 * n] = 0.0\n", ""),
    },
}
