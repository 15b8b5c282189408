package browsertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// The Nu Html Checker is run once per test process as a web service where it can be
// (see vnuDiesWithTests), not once per browser from its command line: each run of the
// command line started a Java virtual machine, about 3.6 s of CPU, for every browser
// of every journey; the service starts one, and once warm answers a page in a few
// milliseconds. Where the service cannot start or fails, the command line checks the
// pages as before, so the check never depends on it.
var vnuService struct {
	once sync.Once
	url  string
	err  error
}

// vnuMessage is one message of the checker's JSON, from either way of running it.
type vnuMessage struct {
	Type, URL, Message, Extract string
	LastLine                    int
}

// vnuURL is the address of this process's checker service, started on first use.
func vnuURL(jar string) (string, error) {
	vnuService.once.Do(func() { vnuService.url, vnuService.err = startVnuService(jar) })
	return vnuService.url, vnuService.err
}

// vnuStartPatience bounds the service's start (about 5 s on a busy 2-core machine).
const vnuStartPatience = 60 * time.Second

func startVnuService(jar string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	// #nosec G204 -- the test harness runs the checker from the repository's tools.
	cmd := exec.Command("java", "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", jar, "nu.validator.servlet.Main", port)
	if !vnuDiesWithTests(cmd) {
		return "", errors.New("the checker service would outlive the tests here")
	}
	// What the service prints goes to a file, read only to say why it did not start.
	out, err := os.CreateTemp("", "vnu-service-*.log")
	if err != nil {
		return "", err
	}
	defer func() {
		_ = out.Close()
		_ = os.Remove(out.Name()) // the service, if it runs, keeps writing to it unnamed
	}()
	said := func() string {
		b, _ := os.ReadFile(out.Name())
		return string(b)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	url := "http://127.0.0.1:" + port + "/"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(vnuStartPatience)
	for {
		if resp, err := client.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, nil
			}
		}
		select {
		case <-exited:
			return "", fmt.Errorf("the checker service exited: %s", said())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("the checker service did not answer within %s: %s", vnuStartPatience, said())
		}
	}
}

// checkWithService has the service check each file and returns its errors, each
// with the file's address, as the command line names them.
func checkWithService(url string, files []string) ([]vnuMessage, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	var out []vnuMessage
	for _, f := range files {
		page, err := os.ReadFile(f) // #nosec G304 -- a page this harness wrote into its own temporary directory
		if err != nil {
			return nil, err
		}
		resp, err := client.Post(url+"?out=json", "text/html; charset=utf-8", bytes.NewReader(page))
		if err != nil {
			return nil, err
		}
		var report struct{ Messages []vnuMessage }
		err = json.NewDecoder(resp.Body).Decode(&report)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			return nil, fmt.Errorf("the checker service answered %d (%v)", resp.StatusCode, err)
		}
		for _, m := range report.Messages {
			// The command line's --errors-only: no warnings or notes.
			if m.Type == "error" || m.Type == "non-document-error" {
				m.URL = "file:" + f
				out = append(out, m)
			}
		}
	}
	return out, nil
}
