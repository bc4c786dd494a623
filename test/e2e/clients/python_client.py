"""The official Python `openai` client against kvroute: every call a Python app makes by default.

Run by python-sdk.test.ts with KVROUTE_URL, KVROUTE_KEY and KVROUTE_MODEL set; prints one JSON object of what it
saw, for the test to check. Any unexpected exception fails the run (non-zero exit, traceback on stderr).
"""
import json
import os

import openai
from openai import OpenAI

client = OpenAI(base_url=os.environ["KVROUTE_URL"] + "/v1", api_key=os.environ["KVROUTE_KEY"], max_retries=0, timeout=20)
MODEL = os.environ["KVROUTE_MODEL"]
ASK = [{"role": "user", "content": "What is a KV cache?"}]
out = {"openai_version": openai.__version__}

# Chat, whole and streamed (with the final usage chunk); None for optional fields is sent as null.
raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK, max_tokens=8, user=None, stop=None, tools=None, response_format=None)
chat = raw.parse()
out["chat"] = {"text": chat.choices[0].message.content, "usage": chat.usage.model_dump(), "backend": raw.headers.get("x-kvroute-backend")}
text, chunks, usage = "", 0, None
for chunk in client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=16, stream=True, stream_options={"include_usage": True}):
    chunks += 1
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = chunk.usage.model_dump()
out["chat_stream"] = {"text": text, "chunks": chunks, "usage": usage}

# Legacy completions.
out["completions"] = {"text": client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=8).choices[0].text}

# Responses API, whole and streamed.
resp = client.responses.create(model=MODEL, instructions="Be brief.", input="What is prefix caching?", max_output_tokens=12, extra_headers={"x-request-id": "py-resp-whole"})
out["responses"] = {"id": resp.id, "status": resp.status, "text": resp.output_text, "input_tokens": resp.usage.input_tokens, "output_tokens": resp.usage.output_tokens}
types, text, final = [], "", None
with client.responses.create(model=MODEL, input=[{"role": "user", "content": [{"type": "input_text", "text": "Stream it"}]}], max_output_tokens=24, stream=True, extra_headers={"x-request-id": "py-resp-stream"}) as stream:
    for event in stream:
        types.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            final = event.response.output_text
out["responses_stream"] = {"types": types, "text": text, "final_text": final}

# Embeddings: the client asks for base64 and decodes it; float on request.
b64 = client.embeddings.create(model=MODEL, input=["first document", "second document"])
flt = client.embeddings.create(model=MODEL, input="first document", encoding_format="float")
out["embeddings"] = {
    "count": len(b64.data),
    "dims": len(b64.data[0].embedding),
    "max_diff": max(abs(a - b) for a, b in zip(b64.data[0].embedding, flt.data[0].embedding)),
    "prompt_tokens": b64.usage.prompt_tokens,
}

# Models.
out["models"] = {
    "list": [m.id for m in client.models.list()],
    "retrieve": client.models.retrieve(MODEL).model_dump(),
    "retrieve_slash": client.models.retrieve("org/alias-model").id,
}
try:
    client.models.retrieve("gpt-9")
    out["models"]["missing"] = "no error"
except openai.NotFoundError as e:
    out["models"]["missing"] = {"status": e.status_code, "code": e.code}

# A backend's 400 arrives as openai.BadRequestError with the OpenAI error shape.
try:
    client.chat.completions.create(model=MODEL, messages=ASK, n=2)
    out["bad_request"] = "no error"
except openai.BadRequestError as e:
    out["bad_request"] = {"status": e.status_code, "code": e.code, "type": e.type, "param": e.param, "message": e.message, "body": e.body}

# Closing a stream mid-way.
stream = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=4000, stream=True, extra_body={"ignore_eos": True})
seen = 0
for _ in stream:
    seen += 1
    if seen == 3:
        break
stream.close()
out["closed_after_chunks"] = seen

print(json.dumps(out))
