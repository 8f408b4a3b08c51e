"""Wrong answers for chapter 02's exercises (format: tests/wrong_answers/__init__.py)."""

_BLOG_PART_1 = '''
a = torch.linspace(-20, 20, 400_001, dtype=torch.float64)
g_min = (torch.sigmoid(a) * torch.tanh(torch.sigmoid(a) * torch.tanh(a))).min().item()
with torch.no_grad():
    lstm_first_step_min = reference(X_blog[:, :1])[0].min().item()
blog = BlogLSTMCell(4, 8)
with torch.no_grad():
    run_blog(blog, X_blog)
blog_gates = blog.last_gates
shared_gates_equal = torch.equal(blog_gates[0], blog_gates[1]) and torch.equal(blog_gates[1], blog_gates[2])
'''

_FIXED_CELL = '''

class FixedLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.x2h = nn.Linear(input_size, 4 * hidden_size)
        self.h2h = nn.Linear(hidden_size, 4 * hidden_size)

    def forward(self, x, state):
        h, c = state
        a_i, a_f, a_g, a_o = (self.x2h(x) + self.h2h(h)).chunk(4, dim=-1)
        c_next = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        return torch.sigmoid(a_o) * torch.tanh(c_next), c_next
'''

_RUN_FIXED = '''

def run_fixed(cell, X):
    h = c = torch.zeros(X.shape[0], cell.h2h.in_features)
    outputs = []
    for t in range(X.shape[1]):
        h, c = cell(X[:, t], (h, c))
        outputs.append(h)
    return torch.stack(outputs, dim=1)
'''

WRONG_ANSWERS = {
    1: {
        "sliced the first block (the input gate)": '''
def forget_gate_weights(module):
    n = module.hidden_size
    return module.weight_ih_l0[:n], module.weight_hh_l0[:n], module.bias_ih_l0[:n] + module.bias_hh_l0[:n]
''',
        "kept only bias_ih": '''
def forget_gate_weights(module):
    n = module.hidden_size
    return module.weight_ih_l0[n:2 * n], module.weight_hh_l0[n:2 * n], module.bias_ih_l0[n:2 * n]
''',
        "gate order i, g, f, o (third block)": '''
def forget_gate_weights(module):
    n = module.hidden_size
    rows = slice(2 * n, 3 * n)
    return module.weight_ih_l0[rows], module.weight_hh_l0[rows], module.bias_ih_l0[rows] + module.bias_hh_l0[rows]
''',
    },
    2: {
        "99% per step instead of over 100 steps": '''
b_f_min = float(torch.logit(torch.tensor(0.99, dtype=torch.float64)))
C_100 = float(torch.sigmoid(torch.tensor(b_f_min, dtype=torch.float64)) ** 100)
''',
        "forgot the logit": '''
b_f_min = 0.99 ** (1 / 100)
C_100 = float(torch.sigmoid(torch.tensor(b_f_min, dtype=torch.float64)) ** 100)
''',
        "guessed a round bias": '''
b_f_min = 10.0
C_100 = float(torch.sigmoid(torch.tensor(b_f_min, dtype=torch.float64)) ** 100)
''',
        "C_100 typed in as 0.99, b_f_min from 99% per step": '''
b_f_min = float(torch.logit(torch.tensor(0.99, dtype=torch.float64)))
C_100 = 0.99
''',
    },
    3: {
        "minimum over all steps, not the first": _BLOG_PART_1.replace(
            "reference(X_blog[:, :1])[0].min()", "reference(X_blog)[0].min()") + _FIXED_CELL + _RUN_FIXED,
        "grid only over a >= 0": _BLOG_PART_1.replace("linspace(-20, 20", "linspace(0, 20") + _FIXED_CELL + _RUN_FIXED,
        "gate blocks taken in the order i, f, o, g": _BLOG_PART_1 + _FIXED_CELL.replace(
            "a_i, a_f, a_g, a_o =", "a_i, a_f, a_o, a_g =") + _RUN_FIXED,
        "equality typed in, gates recorded from a correct LSTM": _BLOG_PART_1.replace(
            "blog_gates = blog.last_gates",
            "_, _, recorded = ScratchSequence.from_torch(reference)(X_blog, return_gates=True)\n"
            "blog_gates = (recorded['I'][-1], recorded['F'][-1], recorded['O'][-1])").replace(
            "shared_gates_equal = torch.equal(blog_gates[0], blog_gates[1]) "
            "and torch.equal(blog_gates[1], blog_gates[2])",
            "shared_gates_equal = True") + _FIXED_CELL + _RUN_FIXED,
        "feeds the cell state back, like the blog": _BLOG_PART_1 + _FIXED_CELL + _RUN_FIXED.replace(
            "h, c = cell(X[:, t], (h, c))\n        outputs.append(h)",
            "h_out, c = cell(X[:, t], (h, c))\n        h = c\n        outputs.append(h_out)"),
    },
}
