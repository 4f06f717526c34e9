"""Trains the tiny sentiment classifier used by the CLI's --html example (run by hand; tests do not need Python).

Sentences are made from templates ("the <noun> was <adverb> <adjective>", with optional negation) over a
31-word vocabulary; label 1 = positive. The model is an embedding, a tanh layer over the flattened
embeddings and a linear head: the embedding output '/emb/Gather_output_0' is the layer to explain.
Writes model.onnx, vocab.json, labels.json, pad.json (the all-padding baseline) and two example reviews
(ids in reviews.json, tokens in reviews.tokens.json).
"""
import json, random, torch, torch.nn as nn

random.seed(0); torch.manual_seed(0)
nouns = ['movie', 'film', 'plot', 'acting', 'story', 'ending', 'cast', 'music']
good = ['great', 'wonderful', 'brilliant', 'good', 'lovely', 'superb']
bad = ['terrible', 'awful', 'boring', 'bad', 'dull', 'weak']
adverbs = ['very', 'really', 'quite', 'truly']
other = ['the', 'was', 'not', 'and', 'but', 'a', 'bit']
vocab = ['<pad>'] + sorted(set(nouns + good + bad + adverbs + other))
index = {w: i for i, w in enumerate(vocab)}
SEQ = 8

def sentence():
    noun = random.choice(nouns); positive = random.random() < 0.5
    adjective = random.choice(good if positive else bad)
    words = ['the', noun, 'was']
    negate = random.random() < 0.25
    if negate: words.append('not')
    if random.random() < 0.5: words.append(random.choice(adverbs))
    words.append(adjective)
    label = int(positive != negate)
    return words[:SEQ] + ['<pad>'] * (SEQ - len(words)), label

class Sentiment(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(len(vocab), 16, padding_idx=0)
        self.hidden = nn.Linear(16 * SEQ, 16)
        self.head = nn.Linear(16, 2)
    def forward(self, ids):
        e = self.emb(ids)
        return self.head(torch.tanh(self.hidden(e.reshape(ids.shape[0], -1))))

data = [sentence() for _ in range(4000)]
ids = torch.tensor([[index[w] for w in s] for s, _ in data]); labels = torch.tensor([l for _, l in data])
model = Sentiment(); opt = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(60):
    opt.zero_grad(); loss = nn.functional.cross_entropy(model(ids), labels); loss.backward(); opt.step()
test = [sentence() for _ in range(500)]
tids = torch.tensor([[index[w] for w in s] for s, _ in test]); tl = torch.tensor([l for _, l in test])
accuracy = (model(tids).argmax(1) == tl).float().mean().item()
print('loss', loss.item(), 'test accuracy', accuracy)
model.eval()
torch.onnx.export(model, ids[:2], 'model.onnx', input_names=['ids'], output_names=['logits'], dynamic_axes={'ids': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
json.dump({'vocab': vocab, 'seq': SEQ, 'labels': ['negative', 'positive'], 'testAccuracy': round(accuracy, 4)}, open('vocab.json', 'w'), indent=1)
reviews = [['the', 'acting', 'was', 'really', 'brilliant'], ['the', 'plot', 'was', 'not', 'good']]
padded = [r + ['<pad>'] * (SEQ - len(r)) for r in reviews]
json.dump({'shape': [2, SEQ], 'dtype': 'int64', 'data': [index[w] for r in padded for w in r]}, open('reviews.json', 'w'))
json.dump(padded, open('reviews.tokens.json', 'w'))
json.dump({'shape': [1, SEQ], 'dtype': 'int64', 'data': [0] * SEQ}, open('pad.json', 'w'))
json.dump(['negative', 'positive'], open('labels.json', 'w'))
