"""Wrong answers for chapter 01's exercises (format: tests/wrong_answers/__init__.py)."""

WRONG_ANSWERS = {
    1: {
        "forgot one of the two biases": '''
def rnn_param_count(input_size, hidden_size):
    return hidden_size * input_size + hidden_size * hidden_size + hidden_size
''',
        "hard-coded the count for (10, 20)": '''
def rnn_param_count(input_size, hidden_size):
    return 640
''',
        "counted the weight matrices only": '''
def rnn_param_count(input_size, hidden_size):
    return hidden_size * input_size + hidden_size * hidden_size
''',
    },
    2: {
        "called the module instead of the formula": '''
def rnn_two_layers(X, module):
    return module(X)
''',
        "h_n holds the last layer's state twice": '''
def rnn_two_layers(X, module):
    H_0 = torch.zeros(X.shape[0], module.hidden_size, dtype=X.dtype)
    out1, _ = rnn_unrolled(X, H_0, module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0,
                           module.bias_hh_l0)
    out2, H_T2 = rnn_unrolled(out1, H_0, module.weight_ih_l1, module.weight_hh_l1, module.bias_ih_l1,
                              module.bias_hh_l1)
    return out2, torch.stack([H_T2, H_T2])
''',
        "returned the first layer's outputs": '''
def rnn_two_layers(X, module):
    H_0 = torch.zeros(X.shape[0], module.hidden_size, dtype=X.dtype)
    out1, H_T1 = rnn_unrolled(X, H_0, module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0,
                              module.bias_hh_l0)
    out2, H_T2 = rnn_unrolled(out1, H_0, module.weight_ih_l1, module.weight_hh_l1, module.bias_ih_l1,
                              module.bias_hh_l1)
    return out1, torch.stack([H_T1, H_T2])
''',
    },
    3: {
        "the spectral radius to the power t": '''
W_burst = torch.tensor([[0.9, 10.0], [0.0, 0.9]], dtype=torch.float64)
norms = 0.9 ** torch.arange(1, 201, dtype=torch.float64)
peak_step = int(norms.argmax()) + 1
peak_norm = float(norms.max())
''',
        "Frobenius norm instead of the spectral norm": '''
W_burst = torch.tensor([[0.9, 10.0], [0.0, 0.9]], dtype=torch.float64)
norms = torch.stack([torch.linalg.matrix_norm(torch.linalg.matrix_power(W_burst, t), ord="fro")
                     for t in range(1, 201)])
peak_step = int(norms.argmax()) + 1
peak_norm = float(norms.max())
''',
        "elementwise power W_burst ** t instead of the matrix power": '''
W_burst = torch.tensor([[0.9, 10.0], [0.0, 0.9]], dtype=torch.float64)
norms = torch.stack([torch.linalg.matrix_norm(W_burst ** t, ord=2) for t in range(1, 201)])
peak_step = int(norms.argmax()) + 1
peak_norm = float(norms.max())
''',
        "peak_step counted from 0": '''
W_burst = torch.tensor([[0.9, 10.0], [0.0, 0.9]], dtype=torch.float64)
norms = torch.stack([torch.linalg.matrix_norm(torch.linalg.matrix_power(W_burst, t), ord=2)
                     for t in range(1, 201)])
peak_step = int(norms.argmax())
peak_norm = float(norms.max())
''',
    },
    4: {
        "missing the tanh' factor": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    outputs, _ = rnn_unrolled(X, H_0, W_ih, W_hh, b_ih, b_hh)
    states = [H_0, *outputs.unbind(dim=1)]
    dW_ih, dW_hh = torch.zeros_like(W_ih), torch.zeros_like(W_hh)
    db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
    H_bar = dL_dH_T
    for t in range(X.shape[1], 0, -1):
        A_bar = H_bar  # forgot tanh'(A_t)
        dW_ih = dW_ih + A_bar.T @ X[:, t - 1]
        dW_hh = dW_hh + A_bar.T @ states[t - 1]
        db_ih = db_ih + A_bar.sum(dim=0)
        db_hh = db_hh + A_bar.sum(dim=0)
        H_bar = A_bar @ W_hh
    return dW_ih, dW_hh, db_ih, db_hh, H_bar
''',
        "transposed W_hh going back": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    outputs, _ = rnn_unrolled(X, H_0, W_ih, W_hh, b_ih, b_hh)
    states = [H_0, *outputs.unbind(dim=1)]
    dW_ih, dW_hh = torch.zeros_like(W_ih), torch.zeros_like(W_hh)
    db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
    H_bar = dL_dH_T
    for t in range(X.shape[1], 0, -1):
        A_bar = H_bar * (1 - states[t] ** 2)
        dW_ih = dW_ih + A_bar.T @ X[:, t - 1]
        dW_hh = dW_hh + A_bar.T @ states[t - 1]
        db_ih = db_ih + A_bar.sum(dim=0)
        db_hh = db_hh + A_bar.sum(dim=0)
        H_bar = A_bar @ W_hh.T  # the column-vector formula copied into row form
    return dW_ih, dW_hh, db_ih, db_hh, H_bar
''',
        "not accumulating over time": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    outputs, _ = rnn_unrolled(X, H_0, W_ih, W_hh, b_ih, b_hh)
    states = [H_0, *outputs.unbind(dim=1)]
    H_bar = dL_dH_T
    for t in range(X.shape[1], 0, -1):
        A_bar = H_bar * (1 - states[t] ** 2)
        dW_ih = A_bar.T @ X[:, t - 1]  # overwritten at every step
        dW_hh = A_bar.T @ states[t - 1]
        db_ih = A_bar.sum(dim=0)
        db_hh = A_bar.sum(dim=0)
        H_bar = A_bar @ W_hh
    return dW_ih, dW_hh, db_ih, db_hh, H_bar
''',
        "autograd inside enable_grad instead of the loop": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    with torch.enable_grad():  # the check runs this under no_grad; switch it back on
        leaves = [t.detach().clone().requires_grad_() for t in (W_ih, W_hh, b_ih, b_hh, H_0)]
        _, H_T = rnn_unrolled(X, leaves[4], *leaves[:4])
        dW_ih, dW_hh, db_ih, db_hh, dH_0 = torch.autograd.grad(H_T, leaves, grad_outputs=dL_dH_T)
    return dW_ih, dW_hh, db_ih, db_hh, dH_0
''',
        "backward() on a surrogate loss instead of the loop": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    with torch.enable_grad():
        leaves = [t.detach().clone().requires_grad_() for t in (W_ih, W_hh, b_ih, b_hh, H_0)]
        _, H_T = rnn_unrolled(X, leaves[4], *leaves[:4])
        (H_T * dL_dH_T).sum().backward()  # d/dH_T of this loss is dL_dH_T
    return tuple(t.grad for t in leaves)
''',
        "H_t instead of H_{t-1} in dW_hh": '''
def rnn_bptt(X, H_0, W_ih, W_hh, b_ih, b_hh, dL_dH_T):
    outputs, _ = rnn_unrolled(X, H_0, W_ih, W_hh, b_ih, b_hh)
    states = [H_0, *outputs.unbind(dim=1)]
    dW_ih, dW_hh = torch.zeros_like(W_ih), torch.zeros_like(W_hh)
    db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
    H_bar = dL_dH_T
    for t in range(X.shape[1], 0, -1):
        A_bar = H_bar * (1 - states[t] ** 2)
        dW_ih = dW_ih + A_bar.T @ X[:, t - 1]
        dW_hh = dW_hh + A_bar.T @ states[t]  # off by one step
        db_ih = db_ih + A_bar.sum(dim=0)
        db_hh = db_hh + A_bar.sum(dim=0)
        H_bar = A_bar @ W_hh
    return dW_ih, dW_hh, db_ih, db_hh, H_bar
''',
    },
}
