"""Wrong answers for chapter 06's exercises (format: tests/wrong_answers/__init__.py)."""

_TRAIN_AND_TAG = '''
torch.manual_seed(0)
dropout_tagger = Tagger(len(corpus.words), len(corpus.tags), embedding_dim, hidden_size)
fit(dropout_tagger, dropout_loader, loss_fn=sequence_nll,
    optimizer=torch.optim.SGD(dropout_tagger.parameters(), lr=0.1), epochs=150,
    device=device, seed=0, progress=False)
dropout_tagger.eval()
with torch.no_grad():
    unk_predictions = [corpus.decode_tags(dropout_tagger(corpus.encode_words(t).unsqueeze(0).to(device))[0]
                                          .argmax(-1))
                       for t in ("the old cat sleeps", "a small fox sings loudly")]
'''

WRONG_ANSWERS = {
    1: {
        "forgot to lower-case": '''
def encode(sentence, word_to_index, unk_index):
    return torch.tensor([word_to_index.get(w, unk_index) for w in sentence.split()], dtype=torch.int64)
''',
        "hard-coded 0 for unknown words instead of unk_index": '''
def encode(sentence, word_to_index, unk_index):
    return torch.tensor([word_to_index.get(w, 0) for w in sentence.lower().split()], dtype=torch.int64)
''',
        "a float tensor of indices": '''
def encode(sentence, word_to_index, unk_index):
    return torch.tensor([float(word_to_index.get(w, unk_index)) for w in sentence.lower().split()])
''',
    },
    2: {
        "subtracted the global maximum, not each row's": '''
def my_log_softmax(s):
    m = s.max()
    return s - m - torch.log(torch.exp(s - m).sum(dim=-1, keepdim=True))
''',
        "log of softmax, no shift (overflows at 1000)": '''
def my_log_softmax(s):
    e = torch.exp(s)
    return torch.log(e / e.sum(dim=-1, keepdim=True))
''',
        "shifted inside the log but not outside": '''
def my_log_softmax(s):
    m = s.max(dim=-1, keepdim=True).values
    return s - torch.log(torch.exp(s - m).sum(dim=-1, keepdim=True))
''',
    },
    3: {
        "mask drawn once when the dataset is built (same mask every epoch)": '''
g = torch.Generator().manual_seed(0)
masked = [(w.masked_fill(torch.rand(w.shape, generator=g) < 0.2, corpus.unk_index), t)
          for w, t in corpus.encoded()]
dropout_loader = DataLoader(masked, batch_size=1, shuffle=True)
''' + _TRAIN_AND_TAG,
        "masked the stored tensors in place (the <unk> pile up pass after pass)": '''
class InPlaceDropout(torch.utils.data.Dataset):
    def __init__(self, pairs, p, unk_index, seed):
        self.pairs, self.p, self.unk_index = pairs, p, unk_index
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        words, tags = self.pairs[i]
        words[torch.rand(words.shape, generator=self.generator) < self.p] = self.unk_index
        return words, tags


dropout_loader = DataLoader(InPlaceDropout(corpus.encoded(), 0.2, corpus.unk_index, seed=0),
                            batch_size=1, shuffle=True)
''' + _TRAIN_AND_TAG,
        "kept each word with probability 0.2 (dropped 80 %)": '''
g = torch.Generator().manual_seed(0)


def drop_collate(batch):
    words, tags = batch[0]
    keep = torch.rand(words.shape, generator=g) < 0.2
    return words.masked_fill(~keep, corpus.unk_index).unsqueeze(0), tags.unsqueeze(0)


dropout_loader = DataLoader(corpus.encoded(), batch_size=1, shuffle=True, collate_fn=drop_collate)
''' + _TRAIN_AND_TAG,
        "built the loader and the tagger but never trained it": '''
class WordDropout(torch.utils.data.Dataset):
    def __init__(self, pairs, p, unk_index, seed):
        self.pairs, self.p, self.unk_index = pairs, p, unk_index
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        words, tags = self.pairs[i]
        return words.masked_fill(torch.rand(words.shape, generator=self.generator) < self.p, self.unk_index), tags


dropout_loader = DataLoader(WordDropout(corpus.encoded(), 0.2, corpus.unk_index, seed=0), batch_size=1, shuffle=True)
torch.manual_seed(0)
dropout_tagger = Tagger(len(corpus.words), len(corpus.tags), embedding_dim, hidden_size)
dropout_tagger.eval()
with torch.no_grad():
    unk_predictions = [corpus.decode_tags(dropout_tagger(corpus.encode_words(t).unsqueeze(0).to(device))[0]
                                          .argmax(-1))
                       for t in ("the old cat sleeps", "a small fox sings loudly")]
''',
    },
}
