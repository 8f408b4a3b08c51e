"""Wrong answers for chapter 07's exercises (format: tests/wrong_answers/__init__.py)."""

_ENTROPIES = '''
o_example = torch.tensor([2.0, 1.0, 0.5, -1.0])
taus = [0.1, 0.5, 1.0, 2.0, 10.0]
entropies = []
for tau in taus:
    P = softmax_with_temperature(o_example, tau)
    entropies.append(float(-(P * P.log()).sum()))
'''

_GENERATE_TOP_K = '''

def generate_top_k(model, prefix, num_chars, k, generator):
    model.eval()
    with torch.no_grad():
        scores, state = model(torch.tensor([vocab[list(prefix)]]))
        new = []
        for _ in range(num_chars):
            new.append(sample_top_k(scores[0, -1], k, generator))
            scores, state = model(torch.tensor([[new[-1]]]), state)
    return prefix + decode(new)
'''

_CONSTANT_SCORES = '''
class ConstantScores(nn.Module):
    def __init__(self, scores):
        super().__init__()
        self.scores = nn.Parameter(scores.clone())

    def forward(self, X):
        return self.scores.expand(X.shape[0], X.shape[1], -1)


_, uniform_ppl = evaluate(ConstantScores(torch.zeros(len(vocab))), data.val_dataloader(),
                          loss_fn=sequence_cross_entropy, metric="perplexity")
'''

WRONG_ANSWERS = {
    1: {
        "multiplied by tau instead of dividing": '''
def softmax_with_temperature(o, tau):
    return torch.softmax(o * tau, dim=-1)
''' + _ENTROPIES,
        "entropy in bits (log2), not nats": '''
def softmax_with_temperature(o, tau):
    return torch.softmax(o / tau, dim=-1)


o_example = torch.tensor([2.0, 1.0, 0.5, -1.0])
taus = [0.1, 0.5, 1.0, 2.0, 10.0]
entropies = [float(-(P * P.log2()).sum()) for P in (softmax_with_temperature(o_example, t) for t in taus)]
''',
        "entropy of the untempered softmax for every tau": '''
def softmax_with_temperature(o, tau):
    return torch.softmax(o / tau, dim=-1)


o_example = torch.tensor([2.0, 1.0, 0.5, -1.0])
taus = [0.1, 0.5, 1.0, 2.0, 10.0]
P1 = torch.softmax(o_example, dim=-1)
entropies = [float(-(P1 * P1.log()).sum()) for _ in taus]
''',
        "softmax over the first axis (dim=0), right only for a 1-D o": '''
def softmax_with_temperature(o, tau):
    return torch.softmax(o / tau, dim=0)
''' + _ENTROPIES,
    },
    2: {
        "unigram from the whole book's frequencies (validation text included)": _CONSTANT_SCORES + '''
freqs = torch.tensor([float(dict(vocab.token_freqs).get(t, 0)) + 1 for t in vocab.idx_to_token])
_, unigram_ppl = evaluate(ConstantScores((freqs / freqs.sum()).log()), data.val_dataloader(),
                          loss_fn=sequence_cross_entropy, metric="perplexity")
''',
        "unigram counted on the validation targets": _CONSTANT_SCORES + '''
counts = torch.bincount(data.Y[num_train:num_train + num_val].reshape(-1), minlength=len(vocab)).double() + 1
_, unigram_ppl = evaluate(ConstantScores((counts / counts.sum()).log().float()), data.val_dataloader(),
                          loss_fn=sequence_cross_entropy, metric="perplexity")
''',
        "raw counts as scores, not log frequencies": _CONSTANT_SCORES + '''
counts = torch.bincount(data.Y[:num_train].reshape(-1), minlength=len(vocab)).double() + 1
_, unigram_ppl = evaluate(ConstantScores((counts / counts.sum()).float()), data.val_dataloader(),
                          loss_fn=sequence_cross_entropy, metric="perplexity")
''',
    },
    3: {
        "uniform among the top k, ignoring their probabilities": '''
def sample_top_k(o, k, generator):
    top_ids = o.topk(k).indices
    return int(top_ids[torch.randint(0, k, (1,), generator=generator)])
''' + _GENERATE_TOP_K,
        "sampled from the full softmax, k ignored": '''
def sample_top_k(o, k, generator):
    if k == 1:
        return int(o.argmax())
    return int(torch.multinomial(torch.softmax(o, -1), 1, generator=generator))
''' + _GENERATE_TOP_K,
        "off by one: kept the k + 1 highest scores": '''
def sample_top_k(o, k, generator):
    if k == 1:
        return int(o.argmax())
    top_scores, top_ids = o.topk(k + 1)
    return int(top_ids[torch.multinomial(torch.softmax(top_scores, -1), 1, generator=generator)])
''' + _GENERATE_TOP_K,
    },
}
