/*
 * Runs INSIDE QuickJS, evaluated right after the PSK client bundle (the IIFE that defines the
 * global `coaps`). Plain ES2020 script, no imports, no globals beyond what QuickJS has.
 *
 * The shim boundary (the only functions that cross between the VM and the host):
 *   VM -> host   hostSend(ArrayBuffer)   transmit one UDP datagram to the peer
 *                hostNow() -> number     monotonic clock, ms
 *                hostSetTimer(ms)        (re)arm the host's single timer; it calls __fire()
 *                hostRandom(n) -> ArrayBuffer   n random bytes (the host's CSPRNG)
 *   host -> VM   __receive(ArrayBuffer)  one UDP datagram from the peer
 *                __fire()                the timer armed by hostSetTimer expired
 *
 * Test instrumentation (stands in for "the application", carries no network bytes):
 *   VM -> host   hostReport(type, json)  connected / data / closed / failed / response
 *   host -> VM   __dtlsStart(), __dtlsSend(text), __coapStart(), __coapGet(path), __close()
 */
(function (g) {
  'use strict';
  var C = g.coaps;
  var timerFire;
  var driver;

  var shim = {
    send: function (d) {
      hostSend(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    },
    now: function () {
      return hostNow();
    },
    setTimer: function (ms, fire) {
      timerFire = fire;
      hostSetTimer(ms);
    },
  };

  function random(n) {
    return new Uint8Array(hostRandom(n));
  }
  /** ASCII only (the identity, the key, URI path segments): no TextEncoder needed. */
  function ascii(s) {
    var b = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
    return b;
  }
  function latin1(b) {
    var s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  function report(type, o) {
    hostReport(type, JSON.stringify(o || {}));
  }
  function describe(e) {
    return { name: (e && e.name) || 'Error', code: e && e.code, message: String((e && e.message) || e) };
  }
  function sessionInfo(info) {
    return { cipherSuite: info.cipherSuite, extendedMasterSecret: info.extendedMasterSecret, identity: latin1(info.peerIdentity) };
  }

  // Shared test credentials (PEERS.md): identity Client_identity, key ASCII "secretPSK".
  var PSK = { identity: ascii('Client_identity'), key: ascii('secretPSK') };

  function newConnection() {
    var cfg = C.resolveBasicConfig({ crypto: C.createPurePskCrypto(random), suites: [0xc0a8], psk: PSK });
    return new C.BasicPskClientConnection(cfg);
  }

  g.__receive = function (ab) {
    if (driver) driver.receive(new Uint8Array(ab));
  };
  g.__fire = function () {
    var f = timerFire;
    timerFire = undefined;
    if (f) f();
  };

  /** DTLS only (openssl s_server): BaremetalDtlsClient. */
  g.__dtlsStart = function () {
    driver = new C.BaremetalDtlsClient(shim, newConnection(), {
      connected: function (info) {
        report('connected', sessionInfo(info));
      },
      data: function (d) {
        report('data', { text: latin1(d) });
      },
      closed: function () {
        report('closed');
      },
      failed: function (e) {
        report('failed', describe(e));
      },
    });
    driver.start();
  };
  g.__dtlsSend = function (text) {
    driver.send(ascii(text));
  };

  /** coaps:// (coap-server-gnutls): BaremetalCoapsClient. */
  g.__coapStart = function () {
    driver = new C.BaremetalCoapsClient(shim, newConnection(), random);
    driver.start().then(
      function (info) {
        report('connected', sessionInfo(info));
      },
      function (e) {
        report('failed', describe(e));
      },
    );
  };
  g.__coapGet = function (path) {
    var options = [];
    var segs = path.split('/');
    for (var i = 0; i < segs.length; i++) if (segs[i]) options.push({ number: C.OptionNumber.UriPath, value: ascii(segs[i]) });
    driver.request({ code: C.Code.GET, options: options }).then(
      function (m) {
        report('response', { code: C.codeText(m.code), payload: latin1(m.payload) });
      },
      function (e) {
        report('failed', describe(e));
      },
    );
  };

  g.__close = function () {
    driver.close();
  };
})(globalThis);
