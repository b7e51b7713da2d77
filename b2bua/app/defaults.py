'''The embedded demo office: what the service runs when started without a config file.

``DEMO_OFFICE_YAML`` is also the annotated reference of the configuration format (``b2bua
example-config`` prints it). It holds no password: each employee's password is generated at the
first start and kept in the data directory (see ``b2bua.app.credentials``).
'''

from __future__ import annotations

from functools import cache

from b2bua.app.config import Config, parse_config
from b2bua.app.config_source import parse_yaml

DEMO_OFFICE_YAML = """\
# b2bua configuration: the demo office (the one started when no --config is given).
# Every key is optional unless marked "required"; values shown are the defaults unless the
# comment says "demo". Durations are in seconds. Quote "*" (YAML reads a bare * as an alias).
# Relative paths are taken from this file's directory.

# data_dir: ./b2bua-data     # store, generated passwords, API token, recordings. Overridden by
                             # --data-dir and by the B2BUA_DATA_DIR environment variable;
                             # when absent: ./b2bua-data in the working directory.

sip:
  listen: 127.0.0.1          # address the SIP sockets bind to (0.0.0.0: every address)
  port: 5060
  transports: [udp, tcp]
  # advertised_address: 203.0.113.10   # address written in Via/Contact (required with 0.0.0.0)
  # domain: office.example.com         # SIP domain and digest realm (default: the address)
  # user_agent: b2bua/0.1.0            # Server/User-Agent header (default: b2bua/VERSION)
  max_message_size: 65535    # bytes; larger requests are answered 513
  digest_algorithms: [MD5]   # digest challenges offered, in order of preference. Add SHA-256
                             # (RFC 8760) once every phone knows it: many (SIPp 3.6, baresip
                             # 1.0) know only MD5 and fail on any SHA-256 challenge.
  trace: false               # log every SIP message (also: b2bua serve --sip-trace)

registrar:
  min_expires: 60            # a REGISTER asking less is answered 423 Interval Too Brief
  max_expires: 3600          # longer requests are shortened to this
  default_expires: 3600      # when the REGISTER names no expiry

media:
  address: 127.0.0.1         # address the RTP sockets bind to
  # advertised_address: 203.0.113.10   # address written in SDP (required with 0.0.0.0)
  rtp_ports: 20000-29999     # FIRST-LAST, FIRST even; one even/odd pair per call leg
  rtp_timeout: 30            # hang up a call whose RTP stopped for this long
  inband_detection: true     # also detect keys sent as tones inside G.711 audio
  workers: 0                 # 0: RTP in the service process; N: N worker processes

web:
  listen: 127.0.0.1          # admin page, HTTP API and /metrics
  port: 8080
  # api_token: ...           # 16+ characters; generated and kept in the data directory if absent

employees:                   # required for a useful office; extensions are 2-6 digits
  - extension: "101"
    name: Anna Ivanova
    trainer: "105"           # the employee called in by the "trainer" key option
    # password: ...          # 8+ characters; generated at first start when absent (demo: absent)
    # numbers: ["+79161234567"]  # extra numbers (mobiles) rung through the trunk by "move"
    # record_calls: false    # record every call of this employee from the start
  - extension: "102"
    name: Boris Petrov
    trainer: "105"
  - extension: "103"
    name: Vera Smirnova
  - extension: "104"
    name: Grigory Kuznetsov
    record_calls: true
  - extension: "105"
    name: Daria Sokolova     # demo: the trainer of 101 and 102

groups:                      # ring groups: every member rings at once, the first to answer wins
  sales: ["101", "102", "103"]
  support: ["103", "104"]

numbers:                     # company numbers (what clients dial) and where they go: exactly
                             # one of ring (an extension), ring_group, scenario
  "7000": {ring: "101"}
  "7001": {ring_group: support}
  "+74957000000": {scenario: welcome}

scenarios:                   # incoming-call scenarios, run step by step
  welcome:
    - play: builtin:welcome  # a prompt: builtin:welcome, builtin:goodbye or a .wav file
    - music: 5               # music for 5 s (builtin:music), or {seconds: 5, file: hold.wav}
    - ring_group: sales      # or {group: sales, timeout: 20}; answered: the scenario ends here
    - ring: "105"            # or {extension: "105", timeout: 20}; default calls.ring_timeout
    - play: builtin:goodbye
    - hangup                 # the end of the steps hangs up anyway; nothing may follow it

keys:                        # in-call options: key "0"-"9" or "*" -> option; "#" is transfer.
                             # Every option takes feedback: true|false (a beep to the employee).
  "1": {option: tag, tag: important}        # tag the call in the report
  "2": {option: scenario, scenario: welcome}  # hand the client to a scenario, drop the employee
  "3": {option: manager}                    # make the pressing employee the client's manager
  "4": {option: trainer}                    # call the employee's trainer in to whisper
  "5": {option: blacklist, reason: pressed during a call}  # block the caller's number
  "6": {option: contact, group: VIP}        # save the client's number in a contact group
  "7": {option: record}                     # start recording (if not already on)
  "8": {option: sms}                        # send the SMS card (text: ... overrides sms.card_text)
  "9": {option: move}                       # ring the employee's other devices and numbers
  "0": {option: contact, group: Partners, feedback: false}
  # "*" left free: keys that start no option reach the client unchanged

transfer:                    # "#" then an extension
  mode: blind                # blind | consult (talk to the colleague first)
  answer_timeout: 20         # how long the colleague may ring
  return_on_no_answer: true  # give the client back to the transferring employee
  digit_timeout: 3           # end of the number after this pause between digits
  hold_music: builtin:music  # what the client hears meanwhile (builtin:music or a .wav file)

calls:
  ring_timeout: 30           # how long an employee or group rings
  manager_ring_timeout: 15   # how long a client's personal manager rings before the usual route
  session_expires: 1800      # RFC 4028 session timer
  min_session_expires: 90    # Min-SE; at least 90
  max_calls: 1000            # calls at once; more are answered 503

blacklist:
  reject_status: 603         # answer to blacklisted callers: 403, 480, 486 or 603

recording:
  # directory: /var/lib/b2bua/recordings   # default: DATA_DIR/recordings
  format: stereo-wav         # stereo-wav (client left, employee right) | mono-wav (mixed)

# trunk:                     # upstream gateway for numbers that are not ours (demo: none)
#   host: 192.0.2.20
#   port: 5060
#   transport: udp           # udp | tcp
#   username: office         # digest credentials, both or neither
#   password: secret
#   caller_id: "+74957000000"   # the number presented on outgoing calls
#   outbound_prefixes: ["+", "8"]  # dialed numbers sent out (default: every number not ours)
#   outbound_pattern: '\\+?[0-9]{7,15}'  # and/or a regular expression they must match
#   registration: false      # REGISTER to the trunk

sms:                         # the SMS gateway of the "sms" key option
  gateway: sip               # sip: SIP MESSAGE to uri (default: through the trunk)
                             # http: an HTTP POST (JSON body) to url
  uri: sip:sms@127.0.0.1:5070   # demo: a local stand-in; nothing listens there by default
  # url: https://sms.example.com/send
  sender: Demo Office
  card_text: "Demo Office: +7 495 700-00-00, office.example.com"
  max_attempts: 5            # then the message is marked failed
  retry_backoff: 30          # wait before retry n: retry_backoff * 2**(n-1)
"""


@cache
def default_office() -> Config:
    """The demo office as a validated configuration."""
    return parse_config(parse_yaml(DEMO_OFFICE_YAML, "<demo office>"))
