print("banditd: placeholder")
